package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/remote"
	"github.com/trueup/trueup/reconciler/terraform"
)

const runnerExamples = `  TRUEUP_RUN_ID=... TRUEUP_CONTROL_URL=http://trueup:8080 TRUEUP_RUN_TOKEN_FILE=/var/run/trueup/token trueup runner

trueup starts runners itself (runner.executor); this command is what they run. It reads:
  TRUEUP_RUN_ID, TRUEUP_CONTROL_URL      the run and the control plane
  TRUEUP_RUN_TOKEN or TRUEUP_RUN_TOKEN_FILE  the run's one-time token
  TRUEUP_RUNNER_TERRAFORM                Terraform (default: terraform on PATH)
  TF_CLI_CONFIG_FILE                     Terraform's CLI configuration
  TRUEUP_RUNNER_PLUGIN_CACHE             a provider plugin cache directory (optional)
  TRUEUP_RUNNER_PRIVATE                  directories the sandbox never shows (colon-separated)
`

// cmdRunner runs one run for the control plane and exits: 0 when the control plane took the
// result (a failed plan is a result), 1 saying why otherwise.
func cmdRunner(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := newFlagSet("runner", "trueup runner", runnerExamples, stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "trueup runner: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	client, err := runnerClient()
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	agent := &remote.Agent{Client: client, Log: log, NewRunner: func(job remote.Job, tfLog *slog.Logger) (reconciler.Runner, error) {
		return localRunnerFor(ctx, job, tfLog)
	}}
	if err := agent.Run(ctx); err != nil {
		return fmt.Errorf("runner %s: %w", client.RunID, err)
	}
	return nil
}

// runnerClient reads the run's id, the control plane's URL and the token from the environment.
func runnerClient() (*remote.Client, error) {
	c := &remote.Client{URL: os.Getenv(remote.EnvControlURL), RunID: os.Getenv(remote.EnvRunID), Token: os.Getenv(remote.EnvRunToken)}
	if file := os.Getenv(remote.EnvRunTokenFile); c.Token == "" && file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("runner: read %s: %w", remote.EnvRunTokenFile, err)
		}
		c.Token = strings.TrimSpace(string(b))
	}
	var missing []string
	for name, v := range map[string]string{remote.EnvRunID: c.RunID, remote.EnvControlURL: c.URL, remote.EnvRunToken + " or " + remote.EnvRunTokenFile: c.Token} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, errors.New("runner: missing " + strings.Join(missing, ", ") + " (trueup sets them when it starts a runner)")
	}
	return c, nil
}

// localRunnerFor is the local Terraform runner a runner uses for job: the daemon's settings from
// the job (lock timeout, sandbox), this machine's from the environment.
func localRunnerFor(ctx context.Context, job remote.Job, log *slog.Logger) (reconciler.Runner, error) {
	var sandbox *terraform.Sandbox
	if job.Untrusted {
		var err error
		if sandbox, err = newSandbox(ctx, terraform.SandboxMode(job.Terraform.Sandbox), log); err != nil {
			return nil, err
		}
	}
	var private []string
	for _, p := range strings.Split(os.Getenv(envRunnerPrivate), ":") {
		if p != "" {
			private = append(private, p)
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		private = append(private, home)
	}
	bin := os.Getenv(envRunnerTerraform)
	if bin == "" {
		bin = "terraform"
	}
	return terraform.New(terraform.Options{
		Binary: bin, PluginCacheDir: os.Getenv(envRunnerPluginCache), Logger: log,
		LockTimeout: time.Duration(job.Terraform.LockTimeoutMillis) * time.Millisecond,
		Sandbox:     sandbox, SandboxReadOnly: job.Terraform.SandboxReadOnly, Private: private,
	})
}
