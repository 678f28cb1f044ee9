package terraform

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/terraform/tftest"
)

// daemonSecrets are set in the daemon's environment by the tests below; none may reach Terraform.
var daemonSecrets = map[string]string{
	"GITHUB_TOKEN":          "ghp_daemon0secret0token",
	"TRUEUP_API_TOKEN":      "api0secret0token",
	"AWS_ACCESS_KEY_ID":     "AKIADAEMON0IDENTITY",
	"AWS_SECRET_ACCESS_KEY": "daemon0aws0secret0key",
	"AWS_PROFILE":           "daemon-profile",
}

func setDaemonSecrets(t *testing.T) {
	t.Helper()
	for k, v := range daemonSecrets {
		t.Setenv(k, v)
	}
	t.Setenv("PASSED_TO_PLANS", "plans0value")
	t.Setenv("PASSED_TO_MAIN", "main0value")
}

// requireSandbox probes bubblewrap; the tests that need it fail without it (make tools installs it).
func requireSandbox(t *testing.T) *Sandbox {
	t.Helper()
	sb, err := ProbeSandbox(t.Context(), "")
	require.NoError(t, err, "bubblewrap is needed for the sandbox tests: run make tools")
	return sb
}

func newSandboxedRunner(t *testing.T, sb *Sandbox) *Runner {
	t.Helper()
	bin, rc := tftest.Tools(t)
	r, err := New(Options{
		Binary: bin, CLIConfigFile: rc, PluginCacheDir: filepath.Join(t.TempDir(), "plugin-cache"),
		PassEnv: PassEnv{Main: []string{"PASSED_TO_MAIN"}, Plans: []string{"PASSED_TO_PLANS"}},
		Sandbox: sb,
	})
	require.NoError(t, err)
	return r
}

// envDump is a stack whose apply writes Terraform's whole environment (as its provisioner sees it) to out.
func envDump(out string) string {
	return `resource "terraform_data" "env" {
  provisioner "local-exec" {
    command = "env > '` + filepath.ToSlash(out) + `'; echo \"HOME_EXISTS=$(test -d \"$HOME\" && echo yes)\" >> '` + filepath.ToSlash(out) + `'"
  }
}
`
}

func TestEnvironmentIsBuiltNotInherited(t *testing.T) {
	setDaemonSecrets(t)
	r := newSandboxedRunner(t, nil)
	e := newEnv(t)
	out := filepath.Join(t.TempDir(), "env")
	writeFiles(t, filepath.Join(e.workdir, "s"), map[string]string{"main.tf": envDump(out)})
	spec := e.spec("s", "")
	spec.Env = map[string]string{"AWS_ACCESS_KEY_ID": "ASIARUN0OWN0CREDENTIAL"}
	plan, err := r.Plan(t.Context(), spec)
	require.NoError(t, err)
	_, err = r.Apply(t.Context(), spec, plan)
	require.NoError(t, err)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	env := string(b)

	for k, v := range daemonSecrets {
		assert.NotContains(t, env, v, "the daemon's %s reached Terraform", k)
	}
	assert.Contains(t, env, "AWS_ACCESS_KEY_ID=ASIARUN0OWN0CREDENTIAL", "the run's own credentials reach it")
	assert.Contains(t, env, "PASSED_TO_MAIN=main0value", "pass_env.main reaches runs on main")
	assert.NotContains(t, env, "plans0value", "pass_env.plans is for branch plans only")
	assert.Contains(t, env, "PATH=")
	assert.Contains(t, env, "TF_DATA_DIR=")
	assert.Contains(t, env, "HOME_EXISTS=yes")
	home := envValue(env, "HOME")
	require.NotEmpty(t, home)
	assert.True(t, strings.HasPrefix(home, filepath.Join(os.TempDir(), "trueup-run-")), "HOME %s is the run's own", home)
	assert.NoDirExists(t, home, "the run's HOME is removed after the run")
	assert.NoDirExists(t, envValue(env, "TMPDIR"), "the run's TMPDIR is removed after the run")
}

func envValue(env, key string) string {
	for _, line := range strings.Split(env, "\n") {
		if v, ok := strings.CutPrefix(line, key+"="); ok {
			return v
		}
	}
	return ""
}

// TestSandboxedPlanSeesOnlyItsOwn is the attack of a pull request on trueup's own host: its code
// reads /proc/self/environ and probes for other stacks' state, trueup's database, the real state
// of its own stack and the daemon's home, during terraform plan.
func TestSandboxedPlanSeesOnlyItsOwn(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Terraform under bubblewrap")
	}
	setDaemonSecrets(t)
	sb := requireSandbox(t)
	r := newSandboxedRunner(t, sb)
	base := t.TempDir()
	stateDir := filepath.Join(base, "data", "state")
	db := filepath.Join(base, "data", "trueup.db")
	other := filepath.Join(stateDir, "other", "terraform.tfstate")
	writeFiles(t, base, map[string]string{"data/trueup.db": "db", "data/state/other/terraform.tfstate": "other state"})
	home, err := os.UserHomeDir()
	require.NoError(t, err)

	// main applies the stack first, so it has state.
	mainSpec := reconciler.RunSpec{
		Stack:   reconciler.Stack{Name: "s", Dir: "s", Workspace: "default"},
		Workdir: filepath.Join(base, "data", "work", "main"), DataDir: filepath.Join(base, "data", "tfdata", "main"),
		StatePath: filepath.Join(stateDir, "s", "terraform.tfstate"),
	}
	writeFiles(t, filepath.Join(mainSpec.Workdir, "s"), map[string]string{"main.tf": `resource "terraform_data" "base" { input = "v1" }`})
	plan, err := r.Plan(t.Context(), mainSpec)
	require.NoError(t, err)
	_, err = r.Apply(t.Context(), mainSpec, plan)
	require.NoError(t, err)
	stateBefore, err := os.ReadFile(mainSpec.StatePath)
	require.NoError(t, err)

	// The pull request's code.
	branch := mainSpec
	branch.Untrusted, branch.Render = true, true
	branch.Workdir, branch.DataDir = filepath.Join(base, "data", "work", "pr"), filepath.Join(base, "data", "tfdata", "pr")
	probe := func(p string) string { return `fileexists("` + filepath.ToSlash(p) + `")` }
	writeFiles(t, filepath.Join(branch.Workdir, "s"), map[string]string{"main.tf": `resource "terraform_data" "base" { input = "v1" }
resource "terraform_data" "probe" {
  input = {
    environ     = replace(file("/proc/self/environ"), "\u0000", "\n")
    other_state = ` + probe(other) + `
    database    = ` + probe(db) + `
    real_state  = ` + probe(mainSpec.StatePath) + `
    shadow      = ` + probe("/etc/shadow") + `
    daemon_home = ` + probe(filepath.Join(home, ".")) + `
    own_copy    = ` + probe(filepath.Join(branch.DataDir, "state", "terraform.tfstate")) + `
  }
}
`})
	plan, err = r.Plan(t.Context(), branch)
	require.NoError(t, err)
	assert.Equal(t, []reconciler.ResourceChange{{Address: "terraform_data.probe", Action: reconciler.ActionCreate}}, plan.Changes,
		"the plan read its stack's state (base is unchanged)")
	out := plan.Rendered
	require.Contains(t, out, "TF_DATA_DIR=", "the plan read its environment")
	for k, v := range daemonSecrets {
		assert.NotContains(t, out, v, "the daemon's %s reached untrusted code", k)
	}
	assert.Contains(t, out, "PASSED_TO_PLANS=plans0value")
	assert.NotContains(t, out, "main0value", "pass_env.main never reaches branch plans")
	for _, seen := range []string{"other_state", "database", "shadow", "daemon_home"} {
		assert.Regexp(t, `\b`+seen+` += false`, out, "%s is visible in the sandbox", seen)
	}
	assert.Regexp(t, `\bown_copy += true`, out, "the plan reads its own copy of the state")
	// The copy is shown where the real state lives, so that the run's backend arguments are main's
	// (see TestPullRequestStartsFromMainsInit); the real state is untouched and unlocked (below).
	assert.Regexp(t, `\breal_state += true`, out, "the copy is shown at the real state's path")

	stateAfter, err := os.ReadFile(mainSpec.StatePath)
	require.NoError(t, err)
	assert.Equal(t, string(stateBefore), string(stateAfter), "the real state is untouched")
	entries, err := os.ReadDir(filepath.Dir(mainSpec.StatePath))
	require.NoError(t, err)
	for _, e := range entries {
		assert.NotContains(t, e.Name(), "lock", "the branch plan locked the real state")
	}

	_, err = r.Apply(t.Context(), branch, plan)
	require.Error(t, err, "untrusted code is never applied")
}

// TestSandboxedPlanCannotPoisonTheCache: what a sandboxed run's code writes into its own TF data dir
// after init never reaches the plugin cache that trusted runs execute from.
func TestSandboxedPlanCannotWriteTheCache(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Terraform under bubblewrap")
	}
	sb := requireSandbox(t)
	r := newSandboxedRunner(t, sb)
	e := newEnv(t)
	cache := r.opts.PluginCacheDir
	writeFiles(t, filepath.Join(e.workdir, "s"), map[string]string{"main.tf": localFile(filepath.Join(t.TempDir(), "x"), "x") +
		`resource "terraform_data" "w" {
  input = fileexists("` + filepath.ToSlash(filepath.Join(cache, "probe")) + `")
}
`})
	spec := e.spec("s", "")
	spec.Untrusted = true
	_, err := r.Plan(t.Context(), spec)
	require.NoError(t, err)
	entries, err := os.ReadDir(cache)
	require.NoError(t, err)
	assert.Empty(t, entries, "an untrusted init filled the shared plugin cache")
}

// TestSandboxNeverShowsAPrivateDirectory: a read-only path that holds the data dir or the daemon's
// home (a mirror at / or at the data dir's parent, named in a CLI config) is left out; paths inside
// them that trueup shows on purpose (the plugin cache) stay.
func TestSandboxNeverShowsAPrivateDirectory(t *testing.T) {
	sb := &Sandbox{bwrap: "/usr/bin/bwrap"}
	args := sb.args(sandboxPaths{
		readOnly:  []string{"/", "/srv", "/srv/trueup", "/srv/trueup/plugin-cache", "/opt/mirror", "/home/trueup/.terraformrc", "/home"},
		readWrite: []string{"/srv/trueup/work/x"},
		private:   []string{"/srv/trueup", "/home/trueup"},
	})
	shown := map[string]bool{}
	for i := 0; i+2 < len(args); i++ {
		if args[i] == "--ro-bind-try" || args[i] == "--bind" {
			shown[args[i+1]] = true
		}
	}
	for _, hidden := range []string{"/", "/srv", "/srv/trueup", "/home"} {
		assert.False(t, shown[hidden], "%s holds a private directory", hidden)
	}
	for _, kept := range []string{"/srv/trueup/plugin-cache", "/opt/mirror", "/home/trueup/.terraformrc", "/srv/trueup/work/x", "/usr"} {
		assert.True(t, shown[kept], "%s should be shown", kept)
	}
	assert.Equal(t, "--", args[len(args)-1])
	assert.True(t, sb.Shows("/usr/lib/x"))
	assert.False(t, sb.Shows("/usr/local/etc/trueup/key.pem"))
	assert.False(t, sb.Shows("/var/lib/trueup/trueup.db"))
}

func TestProbeSandboxNamesTheMissingPiece(t *testing.T) {
	_, err := ProbeSandbox(t.Context(), "bwrap-that-is-not-installed")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "bubblewrap (bwrap-that-is-not-installed) is not installed")
	assert.Contains(t, err.Error(), "apt-get install bubblewrap")

	// A bwrap that cannot make its namespaces (here: one that always fails) is named with its words.
	fake := filepath.Join(t.TempDir(), "bwrap")
	require.NoError(t, os.WriteFile(fake, []byte("#!/bin/sh\necho 'bwrap: No permissions to creating new namespace' >&2\nexit 1\n"), 0o755))
	_, err = ProbeSandbox(t.Context(), fake)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "No permissions to creating new namespace")
}
