package examples_test

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// terraformTools returns the repository's Terraform and CLI config (TRUEUP_TERRAFORM and
// TRUEUP_TERRAFORMRC, as the Makefile exports them, else .tools/ at the repository root), and
// skips the test when Terraform is not built.
func terraformTools(t *testing.T) (tf, rc string) {
	t.Helper()
	root := repoRoot(t)
	tf, rc = os.Getenv("TRUEUP_TERRAFORM"), os.Getenv("TRUEUP_TERRAFORMRC")
	if tf == "" {
		tf = filepath.Join(root, ".tools", "bin", "terraform")
	}
	if rc == "" {
		rc = filepath.Join(root, ".tools", "terraformrc")
	}
	if _, err := os.Stat(tf); err != nil {
		t.Skipf("no Terraform at %s (make tools builds it)", tf)
	}
	return tf, rc
}

// terraformEnv is the environment without the caller's TF_* settings (a TF_VAR_out_dir or
// TF_WORKSPACE would change what runs), with the CLI config set.
func terraformEnv(rc string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TF_") && !strings.HasPrefix(kv, "CHECKPOINT_") {
			env = append(env, kv)
		}
	}
	return append(env, "TF_CLI_CONFIG_FILE="+rc, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1")
}

// terraform runs tf in dir and returns its exit code; any failure to start fails the test.
func terraform(t *testing.T, tf, rc, dir string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(tf, args...)
	cmd.Dir = dir
	cmd.Env = terraformEnv(rc)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), string(out)
	}
	require.NoError(t, err, "terraform %s", strings.Join(args, " "))
	return 0, string(out)
}

func TestTerraformFormatted(t *testing.T) {
	tf, rc := terraformTools(t)
	code, out := terraform(t, tf, rc, repoRoot(t), "fmt", "-check", "-recursive", "-list=true", "examples")
	require.Zero(t, code, "unformatted (run %s fmt -recursive examples/):\n%s", tf, out)
}

// TestQuickstartApplies applies every quickstart stack for real, offline, in a copy of the
// repository, and checks the files they manage, that a second plan is empty, and that a deleted
// file shows as drift: the loop demo.sh shows trueup running.
func TestQuickstartApplies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs terraform init and apply for three stacks")
	}
	tf, rc := terraformTools(t)
	repo := t.TempDir()
	require.NoError(t, os.CopyFS(repo, os.DirFS(examplesDir(t, "quickstart"))))
	out := t.TempDir()
	outVar := "-var=out_dir=" + out

	stacks := loadExample(t, "quickstart").stacks
	require.NotEmpty(t, stacks)
	for _, s := range stacks {
		dir := filepath.Join(repo, filepath.FromSlash(s.mod.dir))
		// One stack at a time: parallel inits sharing a plugin cache are not safe.
		code, log := terraform(t, tf, rc, dir, "init", "-input=false", "-no-color")
		require.Zero(t, code, "init %s:\n%s", s.mod.dir, log)
		code, log = terraform(t, tf, rc, dir, "apply", "-input=false", "-auto-approve", "-no-color", outVar)
		require.Zero(t, code, "apply %s:\n%s", s.mod.dir, log)
	}

	for _, f := range []string{
		"web/index.html", "web/config.json",
		"api/index.html", "api/config.json", "api/routes.json",
		"network/hosts", "network/subnets/public-a.cidr", "network/subnets/private-b.cidr",
	} {
		require.FileExists(t, filepath.Join(out, f))
	}
	index, err := os.ReadFile(filepath.Join(out, "web", "index.html"))
	require.NoError(t, err)
	require.Contains(t, string(index), "<h1>Hello from the web stack</h1>")
	var cfg map[string]string
	data, err := os.ReadFile(filepath.Join(out, "api", "config.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &cfg))
	require.Equal(t, "api", cfg["name"])

	web := filepath.Join(repo, "stacks", "web")
	code, log := terraform(t, tf, rc, web, "plan", "-input=false", "-no-color", "-detailed-exitcode", outVar)
	require.Zero(t, code, "a plan right after apply should be empty:\n%s", log)

	require.NoError(t, os.Remove(filepath.Join(out, "web", "index.html")))
	code, log = terraform(t, tf, rc, web, "plan", "-input=false", "-no-color", "-detailed-exitcode", outVar)
	require.Equal(t, 2, code, "a deleted file should show as a change:\n%s", log)
	require.Contains(t, log, "module.site.local_file.index_html will be created")
}
