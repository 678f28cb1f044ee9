package terraform

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/terraform/tftest"
)

// newTestRunner returns a Runner over the repository's test Terraform and a plugin cache shared
// by the runner's stacks.
func newTestRunner(t *testing.T, lockTimeout time.Duration) *Runner {
	t.Helper()
	bin, rc := tftest.Tools(t)
	r, err := New(Options{Binary: bin, CLIConfigFile: rc, PluginCacheDir: filepath.Join(t.TempDir(), "plugin-cache"), LockTimeout: lockTimeout})
	require.NoError(t, err)
	return r
}

// env is one place stacks run: a checkout (Workdir), data dirs and state dirs.
type env struct {
	workdir, dataDir, stateDir string
}

func newEnv(t *testing.T) env {
	t.Helper()
	base := t.TempDir()
	return env{
		workdir:  filepath.Join(base, "checkout"),
		dataDir:  filepath.Join(base, "data"),
		stateDir: filepath.Join(base, "state"),
	}
}

// spec is a RunSpec for the stack in dir (relative to the checkout) and workspace.
func (e env) spec(dir, workspace string) reconciler.RunSpec {
	if workspace == "" {
		workspace = "default"
	}
	name := reconciler.StackName(dir, workspace)
	return reconciler.RunSpec{
		Stack:   reconciler.Stack{Name: name, Dir: dir, Workspace: workspace},
		Workdir: e.workdir,
		DataDir: filepath.Join(e.dataDir, reconciler.Slug(name)),
		// Workspaces of one directory share its state directory, as the local backend expects.
		StatePath: filepath.Join(e.stateDir, reconciler.Slug(dir), "terraform.tfstate"),
	}
}

// writeFiles writes files (slash paths relative to dir, content) into dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
}

// localFile is a configuration with one local_file at path holding content.
func localFile(path, content string) string {
	return `resource "local_file" "a" {
  filename = "` + filepath.ToSlash(path) + `"
  content  = "` + content + `"
}
`
}

// localBackend declares a local backend with the given path.
func localBackend(path string) string {
	return `terraform {
  backend "local" {
    path = "` + filepath.ToSlash(path) + `"
  }
}
`
}

// slowApply is a configuration whose apply runs sleep for the given seconds.
func slowApply(seconds string) string {
	return slowApplyAnnounced(seconds, "")
}

// slowApplyAnnounced is slowApply whose provisioner first creates the file started (when set), so
// a test can tell that Terraform is inside the apply's slow step and not still setting it up.
func slowApplyAnnounced(seconds, started string) string {
	command := "sleep " + seconds
	if started != "" {
		command = "touch '" + started + "' && " + command
	}
	return `resource "terraform_data" "slow" {
  provisioner "local-exec" {
    command = "` + command + `"
  }
}
`
}

// waitFor polls cond until it holds or the test's patience runs out.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func requireKind(t *testing.T, err error, kind reconciler.ErrorKind) {
	t.Helper()
	require.Error(t, err)
	var re *reconciler.Error
	require.ErrorAs(t, err, &re, "error is not a *reconciler.Error: %v", err)
	require.Equal(t, kind, re.Kind, "error: %v", err)
}
