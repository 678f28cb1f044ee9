package terraform

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
)

// seedSetup applies a local-state stack on main and returns main's spec and a pull request's spec
// of the same stack (untrusted, seeded from main, its checkout holding main's lock file as if it
// were committed) whose main.tf changes the file's content.
func seedSetup(t *testing.T, r *Runner) (mainSpec, pr reconciler.RunSpec) {
	t.Helper()
	base := t.TempDir()
	resource := func(input string) string { return `resource "terraform_data" "a" { input = "` + input + `" }` + "\n" }
	mainSpec = reconciler.RunSpec{
		Stack:   reconciler.Stack{Name: "s", Dir: "s", Workspace: "default"},
		Workdir: filepath.Join(base, "data", "work", "main", "s"), DataDir: filepath.Join(base, "data", "tfdata", "main", "s"),
		StatePath: filepath.Join(base, "data", "state", "s", "terraform.tfstate"),
	}
	module := `module "m" { source = "../modules/m" }` + "\n"
	writeFiles(t, mainSpec.Workdir, map[string]string{
		"s/versions.tf": requireLocal(">= 2.0"), "s/main.tf": resource("v1") + module,
		"modules/m/m.tf": `resource "terraform_data" "m" { input = "1" }`,
	})
	plan, err := r.Plan(t.Context(), mainSpec)
	require.NoError(t, err)
	_, err = r.Apply(t.Context(), mainSpec, plan)
	require.NoError(t, err)
	require.EqualValues(t, 1, r.inits.Load())
	lock, err := os.ReadFile(filepath.Join(mainSpec.Workdir, "s", lockFile))
	require.NoError(t, err, "main's init wrote the lock file")

	pr = mainSpec
	pr.Untrusted, pr.SeedDataDir = true, mainSpec.DataDir
	pr.Workdir, pr.DataDir = filepath.Join(base, "data", "work", "pr-1", "s"), filepath.Join(base, "data", "tfdata", "pr-1", "s")
	writeFiles(t, pr.Workdir, map[string]string{
		"s/versions.tf": requireLocal(">= 2.0"), "s/main.tf": resource("v2") + module, "s/" + lockFile: string(lock),
		"modules/m/m.tf": `resource "terraform_data" "m" { input = "1" }`,
	})
	return mainSpec, pr
}

// treeOf describes every entry under dir: a directory, a symlink and its target, or a file's mode
// and content hash.
func treeOf(t *testing.T, dir string) map[string]string {
	t.Helper()
	tree := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			tree[rel] = "link " + target
			return err
		case d.IsDir():
			tree[rel] = "dir"
		default:
			b, err := os.ReadFile(p)
			fi, _ := d.Info()
			tree[rel] = fmt.Sprintf("file %v %x", fi.Mode(), sha256.Sum256(b))
			return err
		}
		return nil
	}))
	return tree
}

// TestPullRequestStartsFromMainsInit: a pull request's first plan of a stack whose init inputs are
// main's runs no init: its TF data dir is a copy of main's, and it plans against (a copy of) the
// stack's state. A pull request that changes a provider constraint does run init. Main's data
// dir is never written.
func TestPullRequestStartsFromMainsInit(t *testing.T) {
	r := newSandboxedRunner(t, requireSandbox(t))
	mainSpec, pr := seedSetup(t, r)
	seedData := filepath.Join(mainSpec.DataDir, "tfdata")
	before := treeOf(t, seedData)
	seedFP, err := os.ReadFile(filepath.Join(mainSpec.DataDir, fingerprintFile))
	require.NoError(t, err)

	plan, err := r.Plan(t.Context(), pr)
	require.NoError(t, err)
	assert.EqualValues(t, 1, r.inits.Load(), "the pull request's first plan ran no init")
	assert.EqualValues(t, 1, r.seeds.Load())
	assert.Equal(t, []reconciler.ResourceChange{{Address: "terraform_data.a", Action: reconciler.ActionUpdate}}, plan.Changes,
		"the plan read the stack's state (an update, where a create would mean it did not)")
	prFP, err := os.ReadFile(filepath.Join(pr.DataDir, fingerprintFile))
	require.NoError(t, err)
	assert.Equal(t, string(seedFP), string(prFP))

	// The copy is the pull request's own: nothing in it is main's file.
	prData := filepath.Join(pr.DataDir, "tfdata")
	assert.Equal(t, before, treeOf(t, prData), "the data dir is a copy of main's")
	require.NoError(t, filepath.WalkDir(prData, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(prData, p)
		a, errA := os.Lstat(p)
		b, errB := os.Lstat(filepath.Join(seedData, rel))
		require.NoError(t, errA)
		require.NoError(t, errB)
		assert.False(t, os.SameFile(a, b), "%s is shared with main", rel)
		return nil
	}))

	// The next plan of the same pull request reuses its own data dir.
	_, err = r.Plan(t.Context(), pr)
	require.NoError(t, err)
	assert.EqualValues(t, 1, r.inits.Load())
	assert.EqualValues(t, 1, r.seeds.Load())

	// Another pull request changes the provider constraint: init runs, in its own data dir.
	other := pr
	other.Workdir, other.DataDir = filepath.Join(filepath.Dir(pr.Workdir), "..", "pr-2", "s"), filepath.Join(filepath.Dir(pr.DataDir), "..", "pr-2", "s")
	writeFiles(t, filepath.Join(other.Workdir, "s"), map[string]string{"versions.tf": requireLocal(">= 2.1"), "main.tf": `resource "terraform_data" "a" { input = "v3" }` + "\n"})
	_, err = r.Plan(t.Context(), other)
	require.NoError(t, err)
	assert.EqualValues(t, 2, r.inits.Load(), "a changed provider constraint runs init")
	assert.EqualValues(t, 1, r.seeds.Load())

	assert.Equal(t, before, treeOf(t, seedData), "main's data dir is unchanged")
	after, err := os.ReadFile(filepath.Join(mainSpec.DataDir, fingerprintFile))
	require.NoError(t, err)
	assert.Equal(t, string(seedFP), string(after))
	_, err = os.Stat(filepath.Join(mainSpec.DataDir, PlanFileName))
	require.NoError(t, err)
	for _, d := range []string{pr.DataDir, other.DataDir} {
		assert.NoFileExists(t, filepath.Join(d, "tfdata", PlanFileName))
	}

	// Main's next plan still needs no init: nothing of the pull requests reached its data dir.
	_, err = r.Plan(t.Context(), mainSpec)
	require.NoError(t, err)
	assert.EqualValues(t, 2, r.inits.Load())
}

// TestNoSeedForLocalStateOutsideTheSandbox: without the sandbox, an untrusted run reads its copy of
// the state at the copy's own path, so its backend arguments are not main's and its TF data dir
// (which records them) is never main's: init runs.
func TestNoSeedForLocalStateOutsideTheSandbox(t *testing.T) {
	r := newSandboxedRunner(t, nil)
	_, pr := seedSetup(t, r)
	plan, err := r.Plan(t.Context(), pr)
	require.NoError(t, err)
	assert.EqualValues(t, 2, r.inits.Load())
	assert.EqualValues(t, 0, r.seeds.Load())
	assert.Equal(t, []reconciler.ResourceChange{{Address: "terraform_data.a", Action: reconciler.ActionUpdate}}, plan.Changes)
}

// TestRebaseModules: module directories Terraform recorded under the seed's TF data dir point
// into the new one; others (the root, local modules) are left as they are.
func TestRebaseModules(t *testing.T) {
	dir := t.TempDir()
	from, to := "/data/tfdata/main/s/tfdata", "/data/tfdata/pr-1/s/tfdata"
	path := filepath.Join(dir, "modules.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"Modules":[{"Key":"","Source":"","Dir":"."},`+
		`{"Key":"local","Source":"../modules/m","Dir":"../modules/m"},`+
		`{"Key":"vpc","Source":"git::https://example.com/vpc.git","Version":"1.2.0","Dir":"`+from+`/modules/vpc"},`+
		`{"Key":"other","Source":"x","Dir":"`+from+`-evil/modules/x"}]}`), 0o644))
	require.NoError(t, rebaseModules(path, from, to))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.JSONEq(t, `{"Modules":[{"Key":"","Source":"","Dir":"."},`+
		`{"Key":"local","Source":"../modules/m","Dir":"../modules/m"},`+
		`{"Key":"vpc","Source":"git::https://example.com/vpc.git","Version":"1.2.0","Dir":"`+to+`/modules/vpc"},`+
		`{"Key":"other","Source":"x","Dir":"`+from+`-evil/modules/x"}]}`, string(b))

	require.NoError(t, rebaseModules(filepath.Join(dir, "missing.json"), from, to), "no modules.json: nothing to do")
}

// TestSeedIsIgnoredWithoutAMatchingFingerprint: a seed initialised for other init inputs, or one
// re-initialised, is never copied.
func TestSeedIsIgnoredWithoutAMatchingFingerprint(t *testing.T) {
	r := newSandboxedRunner(t, requireSandbox(t))
	mainSpec, pr := seedSetup(t, r)
	require.NoError(t, os.WriteFile(filepath.Join(mainSpec.DataDir, fingerprintFile), []byte("something else"), 0o644))
	_, err := r.Plan(t.Context(), pr)
	require.NoError(t, err)
	assert.EqualValues(t, 2, r.inits.Load())
	assert.EqualValues(t, 0, r.seeds.Load())
}
