package terraform

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"
)

// OverrideFile is the file trueup writes into a stack that declares no backend. Its content is
// the same for every stack, workspace and checkout (the state paths are passed to init as
// -backend-config, which Terraform keeps in TF_DATA_DIR), so runs of the same directory in
// different workspaces never fight over it.
const OverrideFile = "zz_trueup_backend_override.tf"

const overrideContent = `# Written by trueup because this stack declares no backend: its state is kept in trueup's
# state directory (passed to terraform init as -backend-config). Declare a remote backend
# for production stacks; trueup removes this file when the stack declares one.
terraform {
  backend "local" {}
}
`

// backendDecl is what a stack's configuration says about where its state lives.
type backendDecl struct {
	// Parsed is false when a file could not be parsed; Terraform will report the error.
	Parsed bool
	// Type is the backend type ("local", "s3"...), "cloud" for a cloud block, "" for none.
	Type string
	// Path and WorkspaceDir are the local backend's attributes, "" when unset.
	Path, WorkspaceDir string
}

// readBackend finds the backend the stack in dir (relative to the checkout) declares in its *.tf
// and *.tf.json files. Override files are read after the others, so their declaration wins, as in
// Terraform. trueup's own override file is ignored. A file trueup cannot read safely (checkoutFS)
// counts as one it cannot parse: Terraform reports it.
func readBackend(co checkoutFS, dir string) (backendDecl, error) {
	entries, err := co.ReadDir(dir)
	if err != nil {
		return backendDecl{}, err
	}
	var primary, overrides []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || name == OverrideFile || !isConfigFile(name) {
			continue
		}
		base := strings.TrimSuffix(strings.TrimSuffix(name, ".json"), ".tf")
		if base == "override" || strings.HasSuffix(base, "_override") {
			overrides = append(overrides, name)
		} else {
			primary = append(primary, name)
		}
	}
	sort.Strings(primary)
	sort.Strings(overrides)
	decl := backendDecl{Parsed: true}
	p := hclparse.NewParser()
	for _, name := range append(primary, overrides...) {
		path := filepath.Join(dir, name)
		src, err := co.ReadFile(path)
		if err != nil {
			return backendDecl{}, nil
		}
		var f *hcl.File
		var diags hcl.Diagnostics
		if strings.HasSuffix(name, ".json") {
			f, diags = p.ParseJSON(src, path)
		} else {
			f, diags = p.ParseHCL(src, path)
		}
		if diags.HasErrors() {
			return backendDecl{}, nil
		}
		if !backendFromBody(f.Body, &decl) {
			return backendDecl{}, nil
		}
	}
	return decl, nil
}

func isConfigFile(name string) bool {
	return strings.HasSuffix(name, ".tf") || strings.HasSuffix(name, ".tf.json")
}

var (
	fileSchema      = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "terraform"}}}
	terraformSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
		{Type: "backend", LabelNames: []string{"type"}},
		{Type: "cloud"},
	}}
	localSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "path"}, {Name: "workspace_dir"}}}
)

// backendFromBody updates decl with the backend blocks in one file; false means it could not tell.
func backendFromBody(body hcl.Body, decl *backendDecl) bool {
	content, _, diags := body.PartialContent(fileSchema)
	if diags.HasErrors() {
		return false
	}
	for _, tb := range content.Blocks {
		inner, _, diags := tb.Body.PartialContent(terraformSchema)
		if diags.HasErrors() {
			return false
		}
		for _, b := range inner.Blocks {
			if b.Type == "cloud" {
				*decl = backendDecl{Parsed: true, Type: "cloud"}
				continue
			}
			*decl = backendDecl{Parsed: true, Type: b.Labels[0]}
			if b.Labels[0] != "local" {
				continue
			}
			attrs, _, diags := b.Body.PartialContent(localSchema)
			if diags.HasErrors() {
				return false
			}
			for name, a := range attrs.Attributes {
				v, diags := a.Expr.Value(nil)
				if diags.HasErrors() || v.IsNull() || !v.IsKnown() || v.Type() != cty.String {
					return false
				}
				if name == "path" {
					decl.Path = v.AsString()
				} else {
					decl.WorkspaceDir = v.AsString()
				}
			}
		}
	}
	return true
}

// prepareBackend makes the stack keep its state under trueup's state directory when the stack
// does not say where it lives, and returns the -backend-config arguments for init:
//   - no backend: write OverrideFile (a local backend) and point it at spec.StatePath; with
//     Options.SharedState, a pg backend in the stack's schema (StateSchema) instead, for trusted
//     runs, while untrusted ones read a copy of that state through a local backend (a local backend
//     with a relative or no path is treated the same way under SharedState);
//   - a local backend with a relative or no path: keep the declared file name, under the
//     directory of spec.StatePath (a relative path would live in the checkout and be lost);
//   - a local backend with an absolute path, or any other backend: leave it alone.
//
// A stale OverrideFile is removed once the stack declares a backend.
func (j *job) prepareBackend(ctx context.Context) ([]string, error) {
	decl, err := readBackend(j.checkout, j.stackRel())
	if err != nil {
		return nil, err
	}
	if !decl.Parsed {
		return nil, nil // init will fail with Terraform's own description of the problem
	}
	overridePath := filepath.Join(j.stackDir, OverrideFile)
	if decl.Type != "" {
		if err := os.Remove(overridePath); err != nil && !os.IsNotExist(err) {
			return nil, err
		}
	}
	if decl.Type != "" && decl.Type != "local" || decl.Type == "local" && filepath.IsAbs(decl.Path) {
		return nil, nil
	}
	if j.spec.StatePath == "" {
		return nil, fmt.Errorf("stack keeps local state but the run spec has no StatePath")
	}
	statePath, err := filepath.Abs(j.spec.StatePath)
	if err != nil {
		return nil, err
	}
	// With a shared store, every state trueup would keep in its data dir (no backend, or a local one
	// without an absolute path) is kept in PostgreSQL instead: a replica's data dir is a cache the
	// other replica never sees. trueup's override replaces a declared local backend.
	shared := j.r.opts.SharedState != nil
	if shared && !j.spec.Untrusted {
		return j.preparePGBackend(overridePath)
	}
	if shared {
		decl = backendDecl{Parsed: true} // the copy is read through trueup's own local backend
	}
	if j.spec.Untrusted {
		// Untrusted code reads a copy of the stack's state, taken now, inside its own data dir:
		// it never sees (nor locks, nor writes) the real state, nor the database's connection
		// string. In the sandbox the copy is shown at the real state's path (stateMount); outside,
		// it is read at its own path.
		copied := filepath.Join(j.spec.DataDir, "state", filepath.Base(statePath))
		if shared {
			err = j.copySharedState(ctx, statePath)
		} else if err = snapshotDir(filepath.Dir(statePath), filepath.Dir(copied)); err != nil {
			err = fmt.Errorf("copy state: %w", err)
		}
		if err != nil {
			return nil, err
		}
		if _, _, mounted := j.stateMount(); !mounted {
			statePath = copied
		}
	}
	stateDir := filepath.Dir(statePath)
	if _, _, mounted := j.stateMount(); !mounted {
		if err := os.MkdirAll(stateDir, 0o700); err != nil {
			return nil, err
		}
	}
	workspaceDir := filepath.Join(stateDir, "workspaces")
	name := j.spec.Stack.Name
	if decl.Type == "" {
		if err := writeIfChanged(overridePath, []byte(overrideContent)); err != nil {
			return nil, err
		}
		j.r.warnOnce(ctx, "nobackend:"+name, "stack declares no backend; trueup keeps its state locally, production stacks should declare a remote backend",
			"stack", name, "state", statePath)
		return []string{"path=" + statePath, "workspace_dir=" + workspaceDir}, nil
	}
	if decl.Path != "" {
		statePath = filepath.Join(stateDir, filepath.Base(decl.Path))
	}
	if filepath.IsAbs(decl.WorkspaceDir) {
		workspaceDir = decl.WorkspaceDir
	}
	j.r.warnOnce(ctx, "relativelocal:"+name, "stack declares a local backend with a relative path; trueup keeps its state in its state directory",
		"stack", name, "state", statePath)
	return []string{"path=" + statePath, "workspace_dir=" + workspaceDir}, nil
}

// writeIfChanged writes data to path unless it already holds exactly that, atomically, so a
// concurrent reader never sees half a file.
func writeIfChanged(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".trueup-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// snapshotDir makes dst a fresh copy of the regular files and directories under src (symlinks are
// skipped); a missing src leaves dst empty.
func snapshotDir(src, dst string) error {
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return err
	}
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && path == src {
				return filepath.SkipDir
			}
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(to, 0o700)
		case d.Type().IsRegular():
			return copyFileMode(path, to, 0o600)
		}
		return nil
	})
	return err
}

func copyFileMode(from, to string, mode os.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
