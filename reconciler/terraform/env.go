package terraform

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/terraform-exec/tfexec"
)

// PassEnv names the daemon's environment variables that reach Terraform. Nothing else of the
// daemon's environment does (see buildEnv).
type PassEnv struct {
	// Main is given to runs on the applied branch: applies and drift checks.
	Main []string
	// Plans is given to branch and pull request plans, which run untrusted code.
	Plans []string
}

// passedThrough are the daemon's variables every run gets: what finds programs, reaches the
// network through a proxy, and trusts its certificates. They hold no credentials.
var passedThrough = []string{
	"PATH",
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
	"SSL_CERT_FILE", "SSL_CERT_DIR",
}

// defaultPath is PATH when the daemon has none.
const defaultPath = "/usr/local/bin:/usr/bin:/bin"

// buildEnv is the whole environment of one Terraform run. It starts empty, never from the
// daemon's environment, and gets, in this order (later wins):
//   - the variables in passedThrough that the daemon has;
//   - the run's own HOME and TMPDIR (home, tmp);
//   - the TF_* and CHECKPOINT_DISABLE variables trueup sets itself;
//   - the daemon's variables that pass lists (PassEnv.Main or PassEnv.Plans);
//   - the run's own variables (its cloud credentials), which win.
//
// What terraform-exec does not allow in the environment (TF_VAR_*, TF_LOG...) is refused by name.
func (r *Runner) buildEnv(home, tmp string, pass []string, run map[string]string) (map[string]string, error) {
	env := map[string]string{}
	for _, k := range passedThrough {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
		}
	}
	if env["PATH"] == "" {
		env["PATH"] = defaultPath
	}
	if home != "" {
		env["HOME"] = home
	}
	if tmp != "" {
		env["TMPDIR"] = tmp
	}
	env["CHECKPOINT_DISABLE"] = "1" // no version check calls to HashiCorp from a daemon
	if r.opts.PluginCacheDir != "" {
		env["TF_PLUGIN_CACHE_DIR"] = r.opts.PluginCacheDir
	}
	if r.cliConfig != "" {
		env["TF_CLI_CONFIG_FILE"] = r.cliConfig
	}
	passed := map[string]string{}
	for _, k := range pass {
		if v, ok := os.LookupEnv(k); ok {
			passed[k] = v
		}
	}
	if err := addEnv(env, passed, "terraform.pass_env"); err != nil {
		return nil, err
	}
	if err := addEnv(env, run, "RunSpec.Env"); err != nil {
		return nil, err
	}
	return env, nil
}

// addEnv adds extra to env, refusing what terraform-exec forbids (TF_VAR_*, TF_LOG, TF_WORKSPACE...)
// by name only: values may be credentials.
func addEnv(env, extra map[string]string, from string) error {
	if bad := tfexec.ProhibitedEnv(extra); len(bad) > 0 {
		return fmt.Errorf("%s sets %s, which terraform-exec does not allow in the environment", from, strings.Join(bad, ", "))
	}
	for k, v := range extra {
		env[k] = v
	}
	return nil
}

// ProhibitedPassEnv returns the names in names that can never reach Terraform through the
// environment (terraform-exec manages them itself: TF_VAR_*, TF_LOG, TF_WORKSPACE...), for
// config validation.
func ProhibitedPassEnv(names []string) []string {
	m := make(map[string]string, len(names))
	for _, n := range names {
		m[n] = ""
	}
	return tfexec.ProhibitedEnv(m)
}

// resolveCLIConfig is the Terraform CLI configuration file a run uses, made explicit: runs get a
// HOME of their own, so Terraform would no longer find the daemon's ~/.terraformrc by itself.
// "" when there is none.
func resolveCLIConfig(configured string) string {
	if configured != "" {
		return configured
	}
	if v := os.Getenv("TF_CLI_CONFIG_FILE"); v != "" {
		if abs, err := filepath.Abs(v); err == nil {
			return abs
		}
		return v
	}
	if home, err := os.UserHomeDir(); err == nil {
		for _, name := range []string{".terraformrc", "terraform.rc"} {
			p := filepath.Join(home, name)
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				return p
			}
		}
	}
	return ""
}
