package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/trueup/trueup/git"
	"github.com/trueup/trueup/notifier"
	"github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/boltstore"
	"github.com/trueup/trueup/reconciler/layout"
	"github.com/trueup/trueup/reconciler/terraform"
)

const runExamples = `  trueup run --config /etc/trueup/trueup.yaml
  trueup run --repo /srv/git/infra.git --data-dir ./data --poll-interval 10s
  trueup run --config trueup.yaml --log-format json --log-level debug
`

// runFlags are the flags of "trueup run"; set ones override the config file.
type runFlags struct {
	config       string
	repo         string
	branch       string
	dataDir      string
	pollInterval time.Duration
	workers      int
	logFormat    string
	logLevel     string
	listen       string
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f runFlags
	fs := newFlagSet("run", "trueup run [--config FILE] [flags]", runExamples, stderr)
	fs.StringVar(&f.config, "config", "", "path to trueup.yaml")
	fs.StringVar(&f.repo, "repo", "", "repository URL or path (overrides repo.url)")
	fs.StringVar(&f.branch, "branch", "", "branch to apply (overrides repo.branch)")
	fs.StringVar(&f.dataDir, "data-dir", "", "directory for trueup's state (overrides data_dir)")
	fs.DurationVar(&f.pollInterval, "poll-interval", 0, "how often to poll the remote (overrides repo.poll_interval)")
	fs.IntVar(&f.workers, "workers", 0, "concurrent Terraform runs (overrides workers)")
	fs.StringVar(&f.logFormat, "log-format", "", "text or json (overrides log.format)")
	fs.StringVar(&f.logLevel, "log-level", "", "debug, info, warn or error (overrides log.level)")
	fs.StringVar(&f.listen, "listen", "", "HTTP listen address (overrides listen)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "trueup run: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	cfg, err := LoadConfig(f.config)
	if err != nil {
		return err
	}
	f.apply(&cfg)
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	log, err := newLogger(stderr, cfg.Log.Format, cfg.Log.Level)
	if err != nil {
		return err
	}
	return runDaemon(ctx, cfg, log)
}

func (f runFlags) apply(cfg *Config) {
	if f.repo != "" {
		cfg.Repo.URL = f.repo
	}
	if f.branch != "" {
		cfg.Repo.Branch = f.branch
	}
	if f.dataDir != "" {
		cfg.DataDir = f.dataDir
	}
	if f.pollInterval != 0 {
		cfg.Repo.PollInterval = f.pollInterval
	}
	if f.workers != 0 {
		cfg.Workers = f.workers
	}
	if f.logFormat != "" {
		cfg.Log.Format = f.logFormat
	}
	if f.logLevel != "" {
		cfg.Log.Level = f.logLevel
	}
	if f.listen != "" {
		cfg.Listen = f.listen
	}
}

// runDaemon wires the concrete parts together and runs until ctx ends.
func runDaemon(ctx context.Context, cfg Config, log *slog.Logger) error {
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("data_dir: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return fmt.Errorf("create data_dir: %w", err)
	}
	unlock, err := lockDataDir(dataDir)
	if err != nil {
		return err
	}
	defer unlock()

	secrets, err := newSecrets(ctx, cfg)
	if err != nil {
		return err
	}

	store, err := boltstore.Open(filepath.Join(dataDir, "trueup.db"), boltstore.Options{Logger: log})
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer store.Close()

	repoToken, err := secrets.optional(ctx, "repo.token", cfg.Repo.TokenEnv, cfg.Repo.TokenSecretARN)
	if err != nil {
		return err
	}
	src, err := git.Open(ctx, git.Options{
		URL: cfg.Repo.URL, Dir: filepath.Join(dataDir, "mirror.git"), Branch: cfg.Repo.Branch,
		Token: repoToken, Logger: log,
	})
	if err != nil {
		return fmt.Errorf("open repository: %w", err)
	}
	defer src.Close()

	cliConfig := cfg.Terraform.CLIConfigFile
	if cliConfig != "" {
		if cliConfig, err = filepath.Abs(cliConfig); err != nil {
			return fmt.Errorf("terraform.cli_config_file: %w", err)
		}
	}
	runner, err := terraform.New(terraform.Options{
		Binary: cfg.Terraform.Binary, CLIConfigFile: cliConfig,
		PluginCacheDir: filepath.Join(dataDir, "plugin-cache"), LockTimeout: cfg.Terraform.LockTimeout, Logger: log,
	})
	if err != nil {
		return fmt.Errorf("terraform: %w", err)
	}

	alerts, err := newAlerts(ctx, cfg, secrets, log)
	if err != nil {
		return err
	}
	rec, err := reconciler.New(src, runner, store, reconciler.Options{
		Branch: cfg.Repo.Branch, DataDir: dataDir, Workers: cfg.Workers, PollInterval: cfg.Repo.PollInterval,
		ShutdownGrace: cfg.ShutdownGrace, Drift: cfg.DriftPolicy(), LoadLayout: loadLayout,
		Alerts: alerts, Log: notifier.NewLog(log), Logger: log,
	})
	if err != nil {
		return err
	}
	log.Info("trueup starting", "version", version, "repo", redactURL(cfg.Repo.URL), "branch", cfg.Repo.Branch,
		"data_dir", dataDir, "workers", cfg.Workers, "poll_interval", cfg.Repo.PollInterval)
	return rec.Run(ctx)
}

// loadLayout adapts the layout package to the reconciler's port.
func loadLayout(fsys fs.FS) (*reconciler.Layout, error) {
	l, err := layout.Load(fsys)
	if err != nil {
		return nil, err
	}
	return &reconciler.Layout{Stacks: l.Stacks, Affects: l.AffectedStack, Warnings: l.Warnings}, nil
}
