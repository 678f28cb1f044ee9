package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trueup/trueup/git"
	"github.com/trueup/trueup/notifier"
	"github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/api"
	"github.com/trueup/trueup/reconciler/layout"
	"github.com/trueup/trueup/reconciler/metrics"
	"github.com/trueup/trueup/reconciler/redact"
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

// runDaemon wires the concrete parts together and runs until ctx ends. Every secret it reads or
// issues is redacted from its logs and from everything else that leaves the process.
func runDaemon(ctx context.Context, cfg Config, log *slog.Logger) error {
	known := redact.New()
	log = slog.New(known.Handler(log.Handler()))
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("data_dir: %w", err)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("create data_dir: %w", err)
	}
	unlock, err := lockDataDir(dataDir)
	if err != nil {
		return err
	}
	defer unlock()
	if err := tightenDataDir(dataDir, log); err != nil {
		return fmt.Errorf("data_dir permissions: %w", err)
	}
	addPassEnvSecrets(known, cfg)

	sec, err := newSecrets(ctx, cfg, known, log)
	if err != nil {
		return err
	}
	stores, err := openStore(ctx, cfg, sec, dataDir, log)
	if err != nil {
		return err
	}
	defer stores.close()

	gh, err := newGitHub(ctx, cfg, sec, log)
	if err != nil {
		return err
	}
	gl, err := newGitLab(ctx, cfg, sec, log)
	if err != nil {
		return err
	}
	if stores.shared != nil {
		gh.setDeliveries(stores.shared.deliveries("github"))
		gl.setDeliveries(stores.shared.deliveries("gitlab"))
	}
	src, err := openRepo(ctx, cfg, sec, gh, gl, filepath.Join(dataDir, "mirror.git"), log)
	if err != nil {
		return err
	}
	defer src.Close()

	runner, err := newRunner(ctx, cfg, dataDir, stores.state, log)
	if err != nil {
		return err
	}
	var peers runnerPeers
	if stores.shared != nil {
		peers = stores.shared
	}
	runs, err := newDispatch(ctx, cfg, dataDir, runner, peers, log)
	if err != nil {
		return err
	}
	alerts, err := newAlerts(ctx, cfg, sec, log)
	if err != nil {
		return err
	}
	cloud, err := newCloud(ctx, cfg, log)
	if err != nil {
		return err
	}

	if alerts != nil {
		alerts = known.Notifier(alerts)
	}
	awsDefaults := cfg.AWS.StackAWS()
	opts := reconciler.Options{
		Branch: cfg.Repo.Branch, DataDir: dataDir, Workers: cfg.Workers, PollInterval: cfg.Repo.PollInterval,
		ShutdownGrace: cfg.ShutdownGrace, Drift: cfg.DriftPolicy(), LoadLayout: layout.Loader(layout.Options{AWSDefaults: awsDefaults}),
		Alerts: alerts, Log: notifier.NewLog(log), Logger: log,
		AllowForks: cfg.GitHub.AllowForks || cfg.GitLab.AllowForks, Credentials: redactedCredentials{next: cloud.credentials, secret: known},
		Hooks: cloud.hooks, DefaultAWS: awsDefaults, Redact: known.Redact,
	}
	setCodeHost(&opts, cfg, gh, gl, known)
	// The reconciler reports events to m; m's handler, made by newServer, reads the reconciler's
	// state (or the replica's) at scrape time.
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	opts.Metrics = m
	newRec := func(store reconciler.Store) (*reconciler.Reconciler, error) {
		return reconciler.New(src, runs.runner, store, opts)
	}
	var (
		daemon     front
		run        func(ctx context.Context) error
		leadership func() api.Leadership
	)
	if stores.shared != nil {
		rep, err := newReplica(stores.shared, stores.leaseTTL, newRec, log)
		if err != nil {
			return err
		}
		metrics.RegisterLease(reg, rep.elector.State)
		runs.bind(rep)
		daemon, run, leadership = rep, rep.run, rep.leadership
	} else {
		rec, err := newRec(stores.local)
		if err != nil {
			return err
		}
		daemon, run = rec, rec.Run
	}

	server, err := newServer(ctx, cfg, sec, daemon, leadership, gh, gl, m, known, runs.routes, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	runs.listening(ln.Addr())
	serveErr := make(chan error, 1)
	go func() { serveErr <- server.Serve(ln) }()

	log.Info("trueup started", "version", version, "repo", redactURL(cfg.Repo.URL), "branch", cfg.Repo.Branch,
		"data_dir", dataDir, "workers", cfg.Workers, "poll_interval", cfg.Repo.PollInterval, "listen", ln.Addr().String(),
		"store", stores.kind)
	runErr := run(ctx)

	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := server.Shutdown(shutdownCtx); err != nil {
		log.Warn("HTTP server shutdown", "err", err)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("HTTP server", "err", err)
	}
	return runErr
}

func openRepo(ctx context.Context, cfg Config, sec *secrets, gh *gitHub, gl *gitLab, dir string, log *slog.Logger) (*git.Mirror, error) {
	opts := git.Options{URL: cfg.Repo.URL, Dir: dir, Branch: cfg.Repo.Branch, Logger: log}
	if gl != nil {
		gl.gitOptions(&opts)
	}
	switch {
	case cfg.Repo.TokenEnv != "" || cfg.Repo.TokenSecretARN != "":
		opts.TokenFunc = sec.dynamic(ctx, "repo.token", cfg.Repo.TokenEnv, cfg.Repo.TokenSecretARN)
	case gh != nil && gh.app:
		// A GitHub App's installation token authenticates git over https too.
		opts.TokenFunc = func(ctx context.Context) (string, error) {
			token, err := gh.forge.GitToken(ctx)
			sec.known.AddExpiring(time.Now().Add(issuedLifetime), token)
			return token, err
		}
	}
	src, err := git.Open(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("open repository: %w", err)
	}
	return src, nil
}

func newRunner(ctx context.Context, cfg Config, dataDir string, state *terraform.SharedState, log *slog.Logger) (*terraform.Runner, error) {
	cliConfig := cfg.Terraform.CLIConfigFile
	if cliConfig != "" {
		var err error
		if cliConfig, err = filepath.Abs(cliConfig); err != nil {
			return nil, fmt.Errorf("terraform.cli_config_file: %w", err)
		}
		if _, err := os.Stat(cliConfig); err != nil {
			return nil, fmt.Errorf("terraform.cli_config_file: %w", err)
		}
	}
	sandbox, err := newSandbox(ctx, terraform.SandboxMode(cfg.Terraform.Sandbox), log)
	if err != nil {
		return nil, err
	}
	if err := checkSandboxSecrets(cfg, sandbox); err != nil {
		return nil, err
	}
	home, _ := os.UserHomeDir()
	runner, err := terraform.New(terraform.Options{
		Binary: cfg.Terraform.Binary, CLIConfigFile: cliConfig,
		PluginCacheDir: filepath.Join(dataDir, "plugin-cache"), LockTimeout: cfg.Terraform.LockTimeout, Logger: log,
		PassEnv: terraform.PassEnv{Main: cfg.Terraform.PassEnv.Main, Plans: cfg.Terraform.PassEnv.Plans}, Sandbox: sandbox,
		SandboxReadOnly: cfg.Terraform.SandboxReadOnly, Private: []string{dataDir, home}, SharedState: state,
	})
	if err != nil {
		return nil, fmt.Errorf("terraform: %w", err)
	}
	return runner, nil
}

func newServer(ctx context.Context, cfg Config, sec *secrets, daemon front, leadership func() api.Leadership, gh *gitHub, gl *gitLab, m *metrics.Metrics, known *redact.Set, runners http.Handler, log *slog.Logger) (*http.Server, error) {
	token, err := sec.optional(ctx, "api.token", cfg.API.TokenEnv, cfg.API.TokenSecretARN)
	if err != nil {
		return nil, err
	}
	opts := api.Options{
		Backend: daemon, Token: token, Metrics: m.Handler(daemon), Profiling: cfg.API.Pprof, PollInterval: cfg.Repo.PollInterval,
		Logger: log, Redact: known.Redact, Leadership: leadership, Runners: runners,
	}
	if gh != nil {
		opts.Webhook = gh.webhook(daemon)
	}
	if gl != nil {
		opts.GitLabWebhook = gl.webhook(daemon)
	}
	srv, err := api.New(opts)
	if err != nil {
		return nil, err
	}
	return srv.HTTPServer(cfg.Listen), nil
}
