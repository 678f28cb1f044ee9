package terraform

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
)

func TestNewMissingBinary(t *testing.T) {
	_, err := New(Options{Binary: filepath.Join(t.TempDir(), "no-terraform")})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "find terraform binary")
}

func TestVersion(t *testing.T) {
	r := newTestRunner(t, 0)
	v, err := r.Version(t.Context())
	require.NoError(t, err)
	assert.Regexp(t, `^\d+\.\d+\.\d+`, v)
}

func TestPlanApplyCycle(t *testing.T) {
	r := newTestRunner(t, 0)
	e := newEnv(t)
	out := filepath.Join(t.TempDir(), "out.txt")
	writeFiles(t, filepath.Join(e.workdir, "app"), map[string]string{
		"main.tf": `variable "content" { type = string }
resource "local_file" "a" {
  filename = "` + filepath.ToSlash(out) + `"
  content  = var.content
}
output "content" { value = local_file.a.content }
`,
		"vars/prod.tfvars": `content = "hello"`,
	})
	spec := e.spec("app", "")
	spec.Stack.VarFiles = []string{"vars/prod.tfvars"}
	spec.Render = true

	plan, err := r.Plan(t.Context(), spec)
	require.NoError(t, err)
	assert.Equal(t, []reconciler.ResourceChange{{Address: "local_file.a", Action: reconciler.ActionCreate}}, plan.Changes)
	assert.True(t, plan.Complete)
	assert.FileExists(t, plan.File)
	assert.Contains(t, plan.Rendered, "local_file.a will be created")
	assert.Positive(t, plan.TerraformTime)

	_, err = r.Apply(t.Context(), spec, plan)
	require.NoError(t, err)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(b))

	plan, err = r.Plan(t.Context(), spec)
	require.NoError(t, err)
	assert.False(t, plan.HasChanges())
	assert.Empty(t, plan.Drift)
	assert.True(t, plan.Complete)
	assert.Empty(t, plan.Rendered, "no rendering without changes")
	assert.FileExists(t, plan.File)

	// The file changed outside Terraform: the refresh finds it gone, the plan recreates it.
	require.NoError(t, os.WriteFile(out, []byte("tampered"), 0o644))
	plan, err = r.Plan(t.Context(), spec)
	require.NoError(t, err)
	assert.Equal(t, []reconciler.ResourceChange{{Address: "local_file.a", Action: reconciler.ActionCreate}}, plan.Changes)
	assert.Equal(t, []reconciler.ResourceDrift{{Address: "local_file.a", Change: "deleted"}}, plan.Drift)
	_, err = r.Apply(t.Context(), spec, plan)
	require.NoError(t, err)
	b, err = os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(b))
	assert.EqualValues(t, 1, r.inits.Load(), "init ran once for the whole cycle")
}

func TestStateSurvivesAnotherCheckout(t *testing.T) {
	r := newTestRunner(t, 0)
	base := t.TempDir()
	out := filepath.Join(base, "out.txt")
	a := env{workdir: filepath.Join(base, "a"), dataDir: filepath.Join(base, "data-a"), stateDir: filepath.Join(base, "state")}
	b := env{workdir: filepath.Join(base, "b"), dataDir: filepath.Join(base, "data-b"), stateDir: filepath.Join(base, "state")}
	for _, e := range []env{a, b} {
		writeFiles(t, filepath.Join(e.workdir, "stack"), map[string]string{"main.tf": localFile(out, "x")})
	}

	plan, err := r.Plan(t.Context(), a.spec("stack", ""))
	require.NoError(t, err)
	require.True(t, plan.HasChanges())
	_, err = r.Apply(t.Context(), a.spec("stack", ""), plan)
	require.NoError(t, err)
	assert.FileExists(t, a.spec("stack", "").StatePath)
	assert.FileExists(t, filepath.Join(a.workdir, "stack", OverrideFile))

	plan, err = r.Plan(t.Context(), b.spec("stack", ""))
	require.NoError(t, err)
	assert.False(t, plan.HasChanges(), "checkout b sees the state applied from checkout a: %v", plan.Changes)
}

func TestBackendDeclarations(t *testing.T) {
	r := newTestRunner(t, 0)
	e := newEnv(t)
	abs := filepath.Join(t.TempDir(), "own", "terraform.tfstate")
	writeFiles(t, filepath.Join(e.workdir, "abs"), map[string]string{
		"main.tf":    `resource "terraform_data" "x" {}`,
		"backend.tf": localBackend(abs),
	})
	writeFiles(t, filepath.Join(e.workdir, "rel"), map[string]string{
		"main.tf":    `resource "terraform_data" "x" {}`,
		"backend.tf": localBackend("states/mine.tfstate"),
	})
	relSpec := e.spec("rel", "")
	relSpec.StatePath = filepath.Join(t.TempDir(), "rel", "terraform.tfstate")

	for _, spec := range []reconciler.RunSpec{e.spec("abs", ""), relSpec} {
		plan, err := r.Plan(t.Context(), spec)
		require.NoError(t, err)
		_, err = r.Apply(t.Context(), spec, plan)
		require.NoError(t, err)
		assert.NoFileExists(t, filepath.Join(spec.Workdir, spec.Stack.Dir, OverrideFile))
	}
	assert.FileExists(t, abs, "an absolute local path is the stack's own")
	assert.NoFileExists(t, e.spec("abs", "").StatePath)
	assert.FileExists(t, filepath.Join(filepath.Dir(relSpec.StatePath), "mine.tfstate"), "a relative path keeps its name in the state dir")
	assert.NoFileExists(t, filepath.Join(e.workdir, "rel", "states", "mine.tfstate"))
}

func TestStaleOverrideIsRemoved(t *testing.T) {
	r := newTestRunner(t, 0)
	e := newEnv(t)
	dir := filepath.Join(e.workdir, "s")
	writeFiles(t, dir, map[string]string{"main.tf": `resource "terraform_data" "x" {}`})
	_, err := r.Plan(t.Context(), e.spec("s", ""))
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(dir, OverrideFile))

	own := filepath.Join(t.TempDir(), "own.tfstate")
	writeFiles(t, dir, map[string]string{"backend.tf": localBackend(own)})
	plan, err := r.Plan(t.Context(), e.spec("s", ""))
	require.NoError(t, err)
	assert.NoFileExists(t, filepath.Join(dir, OverrideFile))
	_, err = r.Apply(t.Context(), e.spec("s", ""), plan)
	require.NoError(t, err)
	assert.FileExists(t, own)
	assert.EqualValues(t, 2, r.inits.Load())
}

func TestInvalidConfiguration(t *testing.T) {
	r := newTestRunner(t, 0)
	e := newEnv(t)
	writeFiles(t, filepath.Join(e.workdir, "bad"), map[string]string{"main.tf": "resource \"terraform_data\" \"x\" {\n  input = \n}\n"})
	_, err := r.Plan(t.Context(), e.spec("bad", ""))
	requireKind(t, err, reconciler.KindFailed)
	assert.Contains(t, err.Error(), "Error: ")
	assert.Contains(t, err.Error(), "main.tf line 2")
	assert.NotContains(t, err.Error(), "\x1b[")
	_, statErr := os.Stat(filepath.Join(e.spec("bad", "").DataDir, fingerprintFile))
	assert.True(t, os.IsNotExist(statErr), "a failed init leaves no fingerprint")
}

func TestEnvRejectsProhibitedVariables(t *testing.T) {
	r := newTestRunner(t, 0)
	e := newEnv(t)
	writeFiles(t, filepath.Join(e.workdir, "s"), map[string]string{"main.tf": `resource "terraform_data" "x" {}`})
	spec := e.spec("s", "")
	spec.Env = map[string]string{"TF_VAR_secret": "hunter2"}
	_, err := r.Plan(t.Context(), spec)
	requireKind(t, err, reconciler.KindFailed)
	assert.Contains(t, err.Error(), "TF_VAR_secret")
	assert.NotContains(t, err.Error(), "hunter2")
}

func TestEnvReachesTerraform(t *testing.T) {
	r := newTestRunner(t, 0)
	e := newEnv(t)
	out := filepath.Join(t.TempDir(), "token")
	writeFiles(t, filepath.Join(e.workdir, "s"), map[string]string{"main.tf": `resource "terraform_data" "x" {
  provisioner "local-exec" {
    command = "printf %s \"$TRUEUP_TEST_TOKEN\" > ` + filepath.ToSlash(out) + `"
  }
}
`})
	spec := e.spec("s", "")
	spec.Env = map[string]string{"TRUEUP_TEST_TOKEN": "s3cret"}
	plan, err := r.Plan(t.Context(), spec)
	require.NoError(t, err)
	_, err = r.Apply(t.Context(), spec, plan)
	require.NoError(t, err)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, "s3cret", string(b))
}

func TestHeldLockIsKindLocked(t *testing.T) {
	r := newTestRunner(t, -1) // do not wait for the lock
	e := newEnv(t)
	writeFiles(t, filepath.Join(e.workdir, "slow"), map[string]string{"main.tf": slowApply("5")})
	spec := e.spec("slow", "")
	plan, err := r.Plan(t.Context(), spec)
	require.NoError(t, err)

	applied := make(chan error, 1)
	go func() {
		_, err := r.Apply(context.WithoutCancel(t.Context()), spec, plan)
		applied <- err
	}()
	// The local backend writes this file next to the state while it holds the lock.
	waitFor(t, "the apply to take the state lock", func() bool {
		_, err := os.Stat(filepath.Join(filepath.Dir(spec.StatePath), ".terraform.tfstate.lock.info"))
		return err == nil
	})

	other := spec
	other.DataDir = filepath.Join(t.TempDir(), "other-branch")
	_, err = r.Plan(t.Context(), other)
	requireKind(t, err, reconciler.KindLocked)
	assert.Contains(t, err.Error(), "Error acquiring the state lock")
	require.NoError(t, <-applied)
}

func TestCancelInterruptsApply(t *testing.T) {
	r := newTestRunner(t, 0)
	e := newEnv(t)
	started := filepath.Join(t.TempDir(), "provisioner-started")
	writeFiles(t, filepath.Join(e.workdir, "slow"), map[string]string{"main.tf": slowApplyAnnounced("120", started)})
	spec := e.spec("slow", "")
	plan, err := r.Plan(t.Context(), spec)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	applied := make(chan error, 1)
	go func() {
		_, err := r.Apply(ctx, spec, plan)
		applied <- err
	}()
	// Wait for the provisioner itself: Terraform 1.5 may miss an interrupt that arrives after it took
	// the lock but before the provisioner started, and then sleeps until terraform-exec kills it.
	waitFor(t, "the apply's provisioner to start", func() bool {
		_, err := os.Stat(started)
		return err == nil
	})
	cancel()
	select {
	case err := <-applied:
		requireKind(t, err, reconciler.KindCanceled)
	case <-time.After(60 * time.Second): // the provisioner sleeps 120s: only an interrupt ends it sooner
		t.Fatal("apply did not stop after cancel")
	}
}

func TestConcurrentInitsShareTheCache(t *testing.T) {
	r := newTestRunner(t, 0)
	e := newEnv(t)
	const n = 8
	out := t.TempDir()
	for i := range n {
		name := fmt.Sprintf("s%02d", i)
		writeFiles(t, filepath.Join(e.workdir, name), map[string]string{"main.tf": localFile(filepath.Join(out, name), name)})
	}
	// Round 1 fills the empty cache (no lock files yet); round 2 runs from fresh data dirs with
	// lock files present, the case where inits share the cache in parallel.
	for round := range 2 {
		if round == 1 {
			for i := range n {
				require.True(t, cacheReadOnly(testCheckout(t, e.workdir), fmt.Sprintf("s%02d", i), r.opts.PluginCacheDir), "round 2 inits only read the cache")
			}
		}
		errs := make(chan error, n)
		for i := range n {
			spec := e.spec(fmt.Sprintf("s%02d", i), "")
			spec.DataDir = filepath.Join(spec.DataDir, "round", fmt.Sprint(round))
			go func() {
				_, err := r.Plan(t.Context(), spec)
				errs <- err
			}()
		}
		for range n {
			assert.NoError(t, <-errs, "round %d", round)
		}
	}
	assert.EqualValues(t, 2*n, r.inits.Load())
}

func TestWorkspacesKeepSeparateState(t *testing.T) {
	r := newTestRunner(t, 0)
	e := newEnv(t)
	out := t.TempDir()
	writeFiles(t, filepath.Join(e.workdir, "net"), map[string]string{"main.tf": `resource "local_file" "a" {
  filename = "` + filepath.ToSlash(out) + `/${terraform.workspace}.txt"
  content  = terraform.workspace
}
`})
	def, staging := e.spec("net", ""), e.spec("net", "staging")
	for _, spec := range []reconciler.RunSpec{def, staging} {
		plan, err := r.Plan(t.Context(), spec)
		require.NoError(t, err)
		require.Equal(t, []reconciler.ResourceChange{{Address: "local_file.a", Action: reconciler.ActionCreate}}, plan.Changes, spec.Stack.Name)
		_, err = r.Apply(t.Context(), spec, plan)
		require.NoError(t, err)
	}
	for _, spec := range []reconciler.RunSpec{def, staging} {
		plan, err := r.Plan(t.Context(), spec)
		require.NoError(t, err)
		assert.False(t, plan.HasChanges(), spec.Stack.Name)
	}
	assert.FileExists(t, filepath.Join(out, "default.txt"))
	assert.FileExists(t, filepath.Join(out, "staging.txt"))
	require.Equal(t, def.StatePath, staging.StatePath)
	assert.FileExists(t, def.StatePath)
	assert.FileExists(t, filepath.Join(filepath.Dir(def.StatePath), "workspaces", "staging", "terraform.tfstate"))
	b, err := os.ReadFile(def.StatePath)
	require.NoError(t, err)
	assert.False(t, strings.Contains(string(b), "staging.txt"), "default state holds only the default workspace")
}
