package terraform

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-exec/tfexec"

	"github.com/trueup/trueup/reconciler"
)

// fingerprintFile, in RunSpec.DataDir, holds the fingerprint of the last successful init.
const fingerprintFile = "init.fingerprint"

// ensureInit runs terraform init unless nothing init depends on changed since the last
// successful init into the same TF_DATA_DIR, or the run's seed (RunSpec.SeedDataDir) was
// initialised with the same init inputs and is copied instead, then selects the stack's workspace.
func (j *job) ensureInit(ctx context.Context) error {
	name := j.spec.Stack.Name
	backendConfig, err := j.prepareBackend(ctx)
	if err != nil {
		// A database that does not answer (KindTransient) is retried; anything else needs a change.
		return reconciler.Errorf(reconciler.KindOf(err), "init", fmt.Errorf("%s: backend: %w", name, err))
	}
	fp, err := j.fingerprint(backendConfig)
	if err != nil {
		return reconciler.Errorf(reconciler.KindFailed, "init", fmt.Errorf("%s: fingerprint: %w", name, err))
	}
	fpPath := filepath.Join(j.spec.DataDir, fingerprintFile)
	if old, err := readSmallFile(fpPath); err == nil && string(old) == fp && dirExists(j.dataDir) {
		return j.selectWorkspace(ctx)
	}
	// A failed init must not leave a fingerprint that makes the next run skip init.
	if err := os.Remove(fpPath); err != nil && !os.IsNotExist(err) {
		return reconciler.Errorf(reconciler.KindFailed, "init", fmt.Errorf("%s: %w", name, err))
	}
	// A new data dir (a branch's first run) starts from the applied branch's when their init
	// inputs are the same.
	if j.seedFrom(ctx, fp, fpPath) {
		return j.selectWorkspace(ctx)
	}
	// Init runs in the default workspace: a previously selected workspace may not exist in a
	// reconfigured backend, and init cannot ask which one to use instead.
	if err := os.Remove(filepath.Join(j.dataDir, "environment")); err != nil && !os.IsNotExist(err) {
		return reconciler.Errorf(reconciler.KindFailed, "init", fmt.Errorf("%s: %w", name, err))
	}
	// -reconfigure: the repository is the truth about the backend. Terraform never migrates
	// state by itself in automation, and a changed backend block (or state path) must simply
	// be used, not compared with what the previous init saw.
	opts := []tfexec.InitOption{tfexec.Reconfigure(true)}
	for _, bc := range backendConfig {
		opts = append(opts, tfexec.BackendConfig(bc))
	}
	err = j.initWithCache(ctx, func(ctx context.Context) error { return j.tf.Init(ctx, opts...) })
	if err != nil {
		return err
	}
	j.r.inits.Add(1)
	// Fingerprint again: init may have written .terraform.lock.hcl.
	if fp, err = j.fingerprint(backendConfig); err == nil {
		err = os.WriteFile(fpPath, []byte(fp), 0o644)
	}
	if err != nil {
		return reconciler.Errorf(reconciler.KindFailed, "init", fmt.Errorf("%s: fingerprint: %w", name, err))
	}
	return j.selectWorkspace(ctx)
}

// selectWorkspace selects (creating when needed) the stack's workspace. TF_WORKSPACE cannot be
// used through terraform-exec; the selection is kept in TF_DATA_DIR, so it is only changed when
// it differs.
func (j *job) selectWorkspace(ctx context.Context) error {
	ws := j.spec.Stack.Workspace
	if ws == "" {
		ws = "default"
	}
	current := "default"
	if b, err := readSmallFile(filepath.Join(j.dataDir, "environment")); err == nil && strings.TrimSpace(string(b)) != "" {
		current = strings.TrimSpace(string(b))
	}
	if current == ws {
		return nil
	}
	err := j.call(ctx, "workspace", func(ctx context.Context) error { return j.tf.WorkspaceSelect(ctx, ws) })
	if err == nil || !strings.Contains(err.Error(), "doesn't exist") {
		return err
	}
	return j.call(ctx, "workspace", func(ctx context.Context) error { return j.tf.WorkspaceNew(ctx, ws) })
}

func dirExists(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
