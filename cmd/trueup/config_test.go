package main

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "trueup.yaml")
	require.NoError(t, os.WriteFile(path, []byte(body), 0o600))
	return path
}

func TestLoadConfigOverTheDefaults(t *testing.T) {
	cfg, err := LoadConfig(writeConfig(t, `
repo:
  url: /srv/git/infra.git
  poll_interval: 5s
workers: 3
terraform:
  cli_config_file: .tools/terraformrc
drift:
  remediate: alert
  max_changes: 10
api:
  token_env: TRUEUP_API_TOKEN
  pprof: true
`))
	require.NoError(t, err)
	require.NoError(t, cfg.Validate())
	assert.Equal(t, "/srv/git/infra.git", cfg.Repo.URL)
	assert.Equal(t, "main", cfg.Repo.Branch, "a default the file does not set")
	assert.Equal(t, 5*time.Second, cfg.Repo.PollInterval)
	assert.Equal(t, 3, cfg.Workers)
	assert.Equal(t, ":8080", cfg.Listen)
	assert.Equal(t, "alert", cfg.Drift.Remediate)
	assert.Equal(t, 10*time.Minute, cfg.Drift.Interval)
	assert.Equal(t, 10, cfg.Drift.MaxChanges)
	assert.True(t, cfg.API.Pprof)
}

func TestConfigDefaultWorkersFromTheMachine(t *testing.T) {
	for cpus, want := range map[int]int{0: 4, 1: 4, 2: 8, 3: 12, 8: 32, 9: 32, 64: 32} {
		assert.Equal(t, want, DefaultWorkers(cpus), "%d CPUs", cpus)
	}
	assert.Equal(t, DefaultWorkers(runtime.NumCPU()), DefaultConfig().Workers)
	c := DefaultConfig()
	c.Repo.URL = "/x"
	require.NoError(t, c.Validate(), "the default is valid")

	cfg, err := LoadConfig(writeConfig(t, "repo:\n  url: /x\nworkers: 1\n"))
	require.NoError(t, err)
	assert.Equal(t, 1, cfg.Workers, "an explicit value is kept")
	cfg, err = LoadConfig(writeConfig(t, "repo:\n  url: /x\n"))
	require.NoError(t, err)
	assert.Equal(t, DefaultWorkers(runtime.NumCPU()), cfg.Workers, "no value: the machine's default")

	// With runners a worker only waits on its runner: max_parallel is the bound that counts.
	runners := "runner:\n  executor: process\n  max_parallel: 50\n"
	cfg, err = LoadConfig(writeConfig(t, "repo:\n  url: /x\n"+runners))
	require.NoError(t, err)
	assert.Equal(t, 51, cfg.Workers, "no value with runners: max_parallel + 1")
	require.NoError(t, cfg.Validate())
	cfg, err = LoadConfig(writeConfig(t, "repo:\n  url: /x\nworkers: 3\n"+runners))
	require.NoError(t, err)
	assert.Equal(t, 3, cfg.Workers, "an explicit value is kept with runners too")
	cfg.Runner.MaxParallel = 100
	cfg.Workers = 101
	require.NoError(t, cfg.Validate(), "as many workers as runs in flight, and one")
	cfg.Workers = 102
	assert.ErrorContains(t, cfg.Validate(), "workers must be between 1 and 101, got 102")
	cfg.Runner.Executor = executorLocal
	cfg.Workers = 70
	assert.ErrorContains(t, cfg.Validate(), "workers must be between 1 and 64, got 70")
}

func TestLoadConfigErrorsNameTheKeyAndLine(t *testing.T) {
	tests := []struct {
		name, body string
		want       []string
	}{
		{"unknown top-level key", "repo:\n  url: /x\nworkerz: 2\n", []string{"line 3", `unknown key "workerz"`}},
		{"unknown nested key", "repo:\n  url: /x\n  poll_intervall: 5s\n", []string{"line 3", `unknown key "poll_intervall"`}},
		{"mistyped value", "repo:\n  url: /x\nworkers: two\n", []string{"line 3", "two"}},
		{"mistyped duration", "repo:\n  url: /x\n  poll_interval: often\n", []string{"line 3", "often"}},
		{"not YAML", "repo: [\n", []string{"yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeConfig(t, tt.body)
			_, err := LoadConfig(path)
			require.Error(t, err)
			assert.Contains(t, err.Error(), path, "the error names the file")
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.NotContains(t, err.Error(), "main.", "no Go type names")
		})
	}
}

func TestLoadConfigEmptyFileKeepsTheDefaults(t *testing.T) {
	cfg, err := LoadConfig(writeConfig(t, ""))
	require.NoError(t, err)
	assert.Equal(t, DefaultConfig(), cfg)
}

func TestValidate(t *testing.T) {
	valid := func() Config {
		c := DefaultConfig()
		c.Repo.URL = "/srv/git/infra.git"
		return c
	}
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"no repository", func(c *Config) { c.Repo.URL = "" }, "repo.url is required"},
		{"poll too fast", func(c *Config) { c.Repo.PollInterval = time.Millisecond }, "repo.poll_interval must be at least 100ms"},
		{"no workers", func(c *Config) { c.Workers = 0 }, "workers must be between 1 and 64"},
		{"bad log format", func(c *Config) { c.Log.Format = "xml" }, `log.format must be text or json, got "xml"`},
		{"bad remediate", func(c *Config) { c.Drift.Remediate = "fix" }, `drift.remediate must be auto, alert or off, got "fix"`},
		{"negative max_changes", func(c *Config) { c.Drift.MaxChanges = -1 }, "drift.max_changes must be 0"},
		{"owner without repo", func(c *Config) { c.GitHub.Owner = "acme" }, "github.owner and github.repo must be set together"},
		{"github without credentials", func(c *Config) { c.GitHub.Owner, c.GitHub.Repo = "acme", "infra" }, "github: set token_env"},
		{"half an app", func(c *Config) { c.GitHub.Owner, c.GitHub.Repo, c.GitHub.AppID = "acme", "infra", 1 }, "a GitHub App needs"},
		{"pprof without a token", func(c *Config) { c.API.Pprof = true }, "api.pprof needs api.token_env"},
		{"bad sandbox", func(c *Config) { c.Terraform.Sandbox = "maybe" }, `terraform.sandbox must be auto, required or off, got "maybe"`},
		{"pass_env hands the GitHub token to plans", func(c *Config) {
			c.GitHub = GitHubConfig{Owner: "acme", Repo: "infra", TokenEnv: "GITHUB_TOKEN"}
			c.Terraform.PassEnv.Plans = []string{"ARM_CLIENT_ID", "GITHUB_TOKEN"}
		}, "terraform.pass_env.plans names GITHUB_TOKEN, which holds trueup's own secret (github.token_env)"},
		{"pass_env hands the Slack URL to main", func(c *Config) {
			c.Slack.WebhookURLEnv = "HOOK"
			c.Terraform.PassEnv.Main = []string{"HOOK"}
		}, "terraform.pass_env.main names HOOK, which holds trueup's own secret (slack.webhook_url_env)"},
		{"pass_env names what terraform-exec sets", func(c *Config) { c.Terraform.PassEnv.Main = []string{"TF_VAR_password", "TF_LOG"} },
			"terraform.pass_env.main names TF_LOG, TF_VAR_password, which trueup sets for Terraform itself"},
		{"pass_env with a bad name", func(c *Config) { c.Terraform.PassEnv.Plans = []string{"A=B"} }, `"A=B" is not an environment variable name`},
		{"sandbox shows the data dir", func(c *Config) { c.DataDir = "/var/lib/trueup"; c.Terraform.SandboxReadOnly = []string{"/var/lib"} },
			`terraform.sandbox_read_only: "/var/lib" would show branch code data_dir`},
		{"sandbox shows inside the data dir", func(c *Config) {
			c.DataDir = "/var/lib/trueup"
			c.Terraform.SandboxReadOnly = []string{"/var/lib/trueup/state"}
		}, `would show branch code data_dir`},
		{"relative sandbox path", func(c *Config) { c.Terraform.SandboxReadOnly = []string{"out"} }, `"out" must be an absolute path`},
	}
	require.NoError(t, valid().Validate())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.change(&c)
			err := c.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestValidateReportsEveryProblemAtOnce(t *testing.T) {
	c := DefaultConfig()
	c.Workers, c.Drift.Remediate = 0, "fix"
	err := c.Validate()
	require.Error(t, err)
	for _, w := range []string{"repo.url", "workers", "drift.remediate"} {
		assert.Contains(t, err.Error(), w)
	}
}

// The configurations shipped for users to copy load and validate as they are.
func TestShippedExampleConfigsLoad(t *testing.T) {
	for _, path := range []string{"../../examples/quickstart/trueup.example.yaml", "../../deploy/aws-ecs/trueup.example.yaml"} {
		t.Run(path, func(t *testing.T) {
			cfg, err := LoadConfig(path)
			require.NoError(t, err)
			assert.NoError(t, cfg.Validate())
		})
	}
}

// The aws: section is decoded strictly into trueup's own AWSConfig and converts, field for field,
// to the reconciler's defaults.
func TestLoadConfigAWSDefaults(t *testing.T) {
	cfg, err := LoadConfig(writeConfig(t, `
repo:
  url: /srv/git/infra.git
aws:
  role_arn: arn:aws:iam::1:role/plan
  apply_role_arn: arn:aws:iam::1:role/apply
  branch_role_arn: arn:aws:iam::1:role/branch
  external_id: x
  region: eu-west-1
  session_duration: 2h
`))
	require.NoError(t, err)
	require.NoError(t, cfg.Validate())
	assert.Equal(t, reconciler.StackAWS{
		RoleARN: "arn:aws:iam::1:role/plan", ApplyRoleARN: "arn:aws:iam::1:role/apply",
		BranchRoleARN: "arn:aws:iam::1:role/branch", ExternalID: "x", Region: "eu-west-1",
		SessionDuration: 2 * time.Hour,
	}, cfg.AWS.StackAWS())

	_, err = LoadConfig(writeConfig(t, "repo:\n  url: /x\naws:\n  rolearn: arn:aws:iam::1:role/plan\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "line 4")
	assert.Contains(t, err.Error(), `unknown key "rolearn"`)
}
