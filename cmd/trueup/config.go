package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/terraform"
)

// Config is trueup.yaml. Secrets are never written in it: only the names of the environment
// variables (or AWS Secrets Manager ARNs) that hold them.
//
// Workers is how many Terraform runs go at once. Runs mostly wait on cloud APIs, so its default is
// taken from the machine: 4 × runtime.NumCPU(), at least 4 and at most 32 (DefaultWorkers). With
// runners (runner.executor other than local) the runs happen elsewhere and a worker only waits on
// its runner, so the default is runner.max_parallel + 1, that bound being the one that counts. A
// value set in the file or with --workers is kept; it must be between 1 and 64, or up to
// runner.max_parallel + 1 with runners.
type Config struct {
	Repo          RepoConfig      `yaml:"repo"`
	DataDir       string          `yaml:"data_dir"`
	Workers       int             `yaml:"workers"`
	Listen        string          `yaml:"listen"`
	ShutdownGrace time.Duration   `yaml:"shutdown_grace"`
	Log           LogConfig       `yaml:"log"`
	Terraform     TerraformConfig `yaml:"terraform"`
	Drift         DriftConfig     `yaml:"drift"`
	Slack         SlackConfig     `yaml:"slack"`
	GitHub        GitHubConfig    `yaml:"github"`
	GitLab        GitLabConfig    `yaml:"gitlab"`
	API           APIConfig       `yaml:"api"`
	Store         StoreConfig     `yaml:"store"`
	Runner        RunnerConfig    `yaml:"runner"`
	// AWS holds the defaults for every stack's aws settings in .trueup.yaml.
	AWS AWSConfig `yaml:"aws"`
}

// AWSConfig is the aws: section: the defaults of every stack's aws settings. Its fields are
// reconciler.StackAWS's, in the same order, so that it converts to it.
type AWSConfig struct {
	RoleARN         string        `yaml:"role_arn"`
	BranchRoleARN   string        `yaml:"branch_role_arn"`
	ApplyRoleARN    string        `yaml:"apply_role_arn"`
	ExternalID      string        `yaml:"external_id"`
	Region          string        `yaml:"region"`
	SessionDuration time.Duration `yaml:"session_duration"`
}

// StackAWS is the section as the reconciler's settings.
func (a AWSConfig) StackAWS() reconciler.StackAWS { return reconciler.StackAWS(a) }

// RepoConfig is the repository trueup follows.
type RepoConfig struct {
	URL            string        `yaml:"url"`
	Branch         string        `yaml:"branch"`
	PollInterval   time.Duration `yaml:"poll_interval"`
	TokenEnv       string        `yaml:"token_env"`
	TokenSecretARN string        `yaml:"token_secret_arn"`
}

// LogConfig selects the log format and level.
type LogConfig struct {
	Format string `yaml:"format"` // text or json
	Level  string `yaml:"level"`  // debug, info, warn, error
}

// TerraformConfig says which Terraform to run and how.
type TerraformConfig struct {
	Binary        string        `yaml:"binary"`
	CLIConfigFile string        `yaml:"cli_config_file"`
	LockTimeout   time.Duration `yaml:"lock_timeout"`
	// PassEnv names the daemon's variables Terraform gets; nothing else of its environment does.
	PassEnv PassEnvConfig `yaml:"pass_env"`
	// Sandbox is auto, required or off: how branch and pull request plans are contained.
	Sandbox string `yaml:"sandbox"`
	// SandboxReadOnly are more host paths the sandbox shows, read-only, to branch plans.
	SandboxReadOnly []string `yaml:"sandbox_read_only"`
}

// PassEnvConfig lists the daemon's environment variables given to Terraform runs.
type PassEnvConfig struct {
	// Main is given to applies and drift checks on the applied branch.
	Main []string `yaml:"main"`
	// Plans is given to branch and pull request plans (untrusted code).
	Plans []string `yaml:"plans"`
}

// DriftConfig is the default drift policy; .trueup.yaml may override it per stack.
type DriftConfig struct {
	Interval     time.Duration `yaml:"interval"`
	Remediate    string        `yaml:"remediate"`
	AllowDestroy bool          `yaml:"allow_destroy"`
	MaxChanges   int           `yaml:"max_changes"`
}

// SlackConfig is the Slack incoming webhook for alerts.
type SlackConfig struct {
	WebhookURLEnv       string `yaml:"webhook_url_env"`
	WebhookURLSecretARN string `yaml:"webhook_url_secret_arn"`
}

// GitHubConfig connects trueup to GitHub (pull requests, statuses, webhooks).
type GitHubConfig struct {
	Owner                  string `yaml:"owner"`
	Repo                   string `yaml:"repo"`
	APIURL                 string `yaml:"api_url"`
	TokenEnv               string `yaml:"token_env"`
	TokenSecretARN         string `yaml:"token_secret_arn"`
	WebhookSecretEnv       string `yaml:"webhook_secret_env"`
	WebhookSecretSecretARN string `yaml:"webhook_secret_secret_arn"`
	AppID                  int64  `yaml:"app_id"`
	InstallationID         int64  `yaml:"installation_id"`
	PrivateKeyFile         string `yaml:"private_key_file"`
	AllowForks             bool   `yaml:"allow_forks"`
	// AllowSelfApprove lets a pull request's author approve its held merge with a comment.
	AllowSelfApprove bool `yaml:"allow_self_approve"`
}

// GitLabConfig connects trueup to GitLab (merge requests, statuses, webhooks); exclusive with github.
type GitLabConfig struct {
	// Project is the project's full path: group/infra, group/subgroup/infra.
	Project string `yaml:"project"`
	// APIURL is a self-managed GitLab's URL ("https://gitlab.example.com"); empty for gitlab.com.
	APIURL                 string `yaml:"api_url"`
	TokenEnv               string `yaml:"token_env"`
	TokenSecretARN         string `yaml:"token_secret_arn"`
	WebhookSecretEnv       string `yaml:"webhook_secret_env"`
	WebhookSecretSecretARN string `yaml:"webhook_secret_secret_arn"`
	AllowForks             bool   `yaml:"allow_forks"`
	// AllowSelfApprove lets a merge request's author approve its held merge with a comment.
	AllowSelfApprove bool `yaml:"allow_self_approve"`
}

// APIConfig guards the mutating HTTP API.
type APIConfig struct {
	TokenEnv       string `yaml:"token_env"`
	TokenSecretARN string `yaml:"token_secret_arn"`
	// Pprof serves Go's profiling endpoints under /debug/pprof/, behind the token.
	Pprof bool `yaml:"pprof"`
}

// DefaultConfig is the configuration before the file and flags are applied.
func DefaultConfig() Config {
	return Config{
		Repo:          RepoConfig{Branch: "main", PollInterval: 30 * time.Second},
		DataDir:       "/var/lib/trueup",
		Workers:       DefaultWorkers(runtime.NumCPU()),
		Listen:        ":8080",
		ShutdownGrace: 4 * time.Minute,
		Log:           LogConfig{Format: "text", Level: "info"},
		Terraform:     TerraformConfig{Binary: "terraform", LockTimeout: 30 * time.Second, Sandbox: string(terraform.SandboxAuto)},
		Drift:         DriftConfig{Interval: 10 * time.Minute, Remediate: string(reconciler.RemediateAuto)},
		Runner:        DefaultRunnerConfig(),
	}
}

// DefaultWorkers is the default of Config.Workers on a machine with cpus CPUs: 4 per CPU, at least 4
// and at most 32.
func DefaultWorkers(cpus int) int { return min(max(4*cpus, 4), 32) }

// LoadConfig reads path over the defaults. Unknown or mistyped keys are errors naming the key and line.
func LoadConfig(path string) (Config, error) {
	cfg := DefaultConfig()
	if path == "" {
		return cfg, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("read config: %w", err)
	}
	cfg.Workers = 0 // unset unless the file sets it
	if err := decodeStrict(data, &cfg); err != nil {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	if cfg.Workers == 0 {
		cfg.Workers = defaultWorkersFor(cfg.Runner, runtime.NumCPU())
	}
	return cfg, nil
}

// defaultWorkersFor is the default of Config.Workers with r on a machine with cpus CPUs.
func defaultWorkersFor(r RunnerConfig, cpus int) int {
	if r.Executor != "" && r.Executor != executorLocal && r.MaxParallel > 0 {
		return max(DefaultWorkers(cpus), r.MaxParallel+1)
	}
	return DefaultWorkers(cpus)
}

var fieldNotFound = regexp.MustCompile(`field (\S+) not found in type \S+`)

// decodeStrict decodes YAML rejecting unknown keys, with yaml's "line N:" kept and Go type names removed.
func decodeStrict(data []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file keeps the defaults
		}
		var te *yaml.TypeError
		if errors.As(err, &te) {
			msgs := make([]string, len(te.Errors))
			for i, m := range te.Errors {
				msgs[i] = fieldNotFound.ReplaceAllString(m, `unknown key "$1"`)
			}
			return errors.New(strings.Join(msgs, "; "))
		}
		return err
	}
	return nil
}

// Validate reports every problem in the configuration at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Repo.URL == "" {
		bad("repo.url is required (a path, file://, https:// or ssh:// URL)")
	}
	if c.Repo.Branch == "" {
		bad("repo.branch must not be empty")
	}
	if c.Repo.PollInterval < 100*time.Millisecond {
		bad("repo.poll_interval must be at least 100ms, got %s", c.Repo.PollInterval)
	}
	if c.DataDir == "" {
		bad("data_dir is required")
	}
	if most := max(64, defaultWorkersFor(c.Runner, 1)); c.Workers < 1 || c.Workers > most {
		bad("workers must be between 1 and %d, got %d", most, c.Workers)
	}
	if c.ShutdownGrace < 0 {
		bad("shutdown_grace must not be negative")
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format must be text or json, got %q", c.Log.Format)
	}
	if _, err := parseLevel(c.Log.Level); err != nil {
		bad("log.level: %v", err)
	}
	if c.Terraform.Binary == "" {
		bad("terraform.binary must not be empty")
	}
	switch terraform.SandboxMode(c.Terraform.Sandbox) {
	case terraform.SandboxAuto, terraform.SandboxRequired, terraform.SandboxOff:
	default:
		bad("terraform.sandbox must be auto, required or off, got %q", c.Terraform.Sandbox)
	}
	errs = append(errs, c.validatePassEnv()...)
	errs = append(errs, c.Store.validate()...)
	errs = append(errs, c.validateRunner()...)
	errs = append(errs, c.validateSandboxPaths()...)
	switch reconciler.RemediateMode(c.Drift.Remediate) {
	case reconciler.RemediateAuto, reconciler.RemediateAlert, reconciler.RemediateOff:
	default:
		bad("drift.remediate must be auto, alert or off, got %q", c.Drift.Remediate)
	}
	if c.Drift.Interval < time.Second {
		bad("drift.interval must be at least 1s, got %s", c.Drift.Interval)
	}
	if (c.GitHub.Owner == "") != (c.GitHub.Repo == "") {
		bad("github.owner and github.repo must be set together")
	}
	if c.GitHub.Owner != "" {
		app := c.GitHub.AppID != 0 || c.GitHub.InstallationID != 0 || c.GitHub.PrivateKeyFile != ""
		if app && (c.GitHub.AppID == 0 || c.GitHub.InstallationID == 0 || c.GitHub.PrivateKeyFile == "") {
			bad("github: a GitHub App needs app_id, installation_id and private_key_file")
		}
		if !app && c.GitHub.TokenEnv == "" && c.GitHub.TokenSecretARN == "" {
			bad("github: set token_env (or token_secret_arn), or app_id, installation_id and private_key_file")
		}
	}
	errs = append(errs, c.validateGitLab()...)
	if c.API.Pprof && c.API.TokenEnv == "" && c.API.TokenSecretARN == "" {
		bad("api.pprof needs api.token_env or api.token_secret_arn: the profiles are served only with the token")
	}
	if c.AWS.SessionDuration < 0 {
		bad("aws.session_duration must not be negative")
	}
	if c.Drift.MaxChanges < 0 {
		bad("drift.max_changes must be 0 (no limit) or more, got %d", c.Drift.MaxChanges)
	}
	return errors.Join(errs...)
}

// DriftPolicy is the drift section as the reconciler's policy.
func (c Config) DriftPolicy() reconciler.DriftPolicy {
	return reconciler.DriftPolicy{
		Interval:     c.Drift.Interval,
		Remediate:    reconciler.RemediateMode(c.Drift.Remediate),
		AllowDestroy: c.Drift.AllowDestroy,
		MaxChanges:   c.Drift.MaxChanges,
	}
}

// secretEnvNames are the environment variables that hold trueup's own secrets (every *_env key).
func (c Config) secretEnvNames() map[string]string {
	names := map[string]string{}
	for key, name := range map[string]string{
		"repo.token_env": c.Repo.TokenEnv, "slack.webhook_url_env": c.Slack.WebhookURLEnv,
		"github.token_env": c.GitHub.TokenEnv, "github.webhook_secret_env": c.GitHub.WebhookSecretEnv,
		"gitlab.token_env": c.GitLab.TokenEnv, "gitlab.webhook_secret_env": c.GitLab.WebhookSecretEnv,
		"api.token_env": c.API.TokenEnv, "store.postgres.dsn_env": c.Store.postgres().DSNEnv,
		"store.postgres.state_dsn_env": c.Store.postgres().StateDSNEnv,
	} {
		if name != "" {
			names[name] = key
		}
	}
	return names
}

// validateGitLab checks the gitlab section: a full project path, a token, and no github section beside it.
func (c Config) validateGitLab() []error {
	g := c.GitLab
	if g == (GitLabConfig{}) {
		return nil
	}
	var errs []error
	if c.GitHub.Owner != "" || c.GitHub.Repo != "" {
		errs = append(errs, errors.New("github and gitlab are exclusive: configure one code host"))
	}
	if p := strings.Trim(g.Project, "/"); p == "" || !strings.Contains(p, "/") {
		errs = append(errs, fmt.Errorf("gitlab.project must be the project's full path, such as group/infra, got %q", g.Project))
	}
	if g.TokenEnv == "" && g.TokenSecretARN == "" {
		errs = append(errs, errors.New("gitlab: set token_env (or token_secret_arn)"))
	}
	if g.APIURL != "" && !strings.HasPrefix(g.APIURL, "https://") && !strings.HasPrefix(g.APIURL, "http://") {
		errs = append(errs, fmt.Errorf("gitlab.api_url must be an http(s) URL, got %q", g.APIURL))
	}
	return errs
}

// validatePassEnv refuses pass_env lists that would hand trueup's own secrets to Terraform, or
// name what terraform-exec sets itself.
func (c Config) validatePassEnv() []error {
	var errs []error
	own := c.secretEnvNames()
	for list, names := range map[string][]string{"main": c.Terraform.PassEnv.Main, "plans": c.Terraform.PassEnv.Plans} {
		for _, name := range names {
			if !envName.MatchString(name) {
				errs = append(errs, fmt.Errorf("terraform.pass_env.%s: %q is not an environment variable name", list, name))
			}
			if key, ok := own[name]; ok {
				errs = append(errs, fmt.Errorf("terraform.pass_env.%s names %s, which holds trueup's own secret (%s): trueup's secrets never reach Terraform", list, name, key))
			}
		}
		if bad := terraform.ProhibitedPassEnv(names); len(bad) > 0 {
			slices.Sort(bad)
			errs = append(errs, fmt.Errorf("terraform.pass_env.%s names %s, which trueup sets for Terraform itself: use the stack's configuration or var_files instead", list, strings.Join(bad, ", ")))
		}
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errs
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// validateSandboxPaths refuses sandbox_read_only paths that would show branch code the data dir
// (other stacks' state, the database) or the daemon's home.
func (c Config) validateSandboxPaths() []error {
	var errs []error
	dataDir, _ := filepath.Abs(c.DataDir)
	home, _ := os.UserHomeDir()
	for _, p := range c.Terraform.SandboxReadOnly {
		if !filepath.IsAbs(p) {
			errs = append(errs, fmt.Errorf("terraform.sandbox_read_only: %q must be an absolute path", p))
			continue
		}
		p = filepath.Clean(p)
		for what, dir := range map[string]string{"data_dir": dataDir, "the daemon's home": home} {
			if dir != "" && (within(dir, p) || within(p, dir)) {
				errs = append(errs, fmt.Errorf("terraform.sandbox_read_only: %q would show branch code %s (%s)", p, what, dir))
			}
		}
	}
	return errs
}

// within reports whether path is dir or inside it.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
