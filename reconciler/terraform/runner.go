// Package terraform is the reconciler.Runner over the Terraform CLI (terraform-exec) and its JSON
// plan format (terraform-json): init when the configuration changed, plan to a plan file, read
// the plan back, apply exactly that file.
package terraform

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/terraform-exec/tfexec"

	"github.com/trueup/trueup/reconciler"
)

// DefaultLockTimeout is how long Terraform waits for a held state lock when Options.LockTimeout is 0.
// It is short on purpose: a held lock is reported as reconciler.KindLocked and the run is retried
// later, which is better than a worker waiting for minutes.
const DefaultLockTimeout = 10 * time.Second

// Options configure a Runner.
type Options struct {
	// Binary is the terraform executable: a name looked up on PATH, or a path.
	Binary string
	// CLIConfigFile is passed to Terraform as TF_CLI_CONFIG_FILE when set.
	CLIConfigFile string
	// PluginCacheDir is passed to Terraform as TF_PLUGIN_CACHE_DIR when set.
	PluginCacheDir string
	// LockTimeout is Terraform's -lock-timeout: 0 means DefaultLockTimeout, a negative value
	// means fail at once when the state lock is held.
	LockTimeout time.Duration
	// Logger receives one debug line per Terraform call; nil discards.
	Logger *slog.Logger
	// PassEnv names the daemon's variables that reach Terraform; nothing else of the daemon's
	// environment does.
	PassEnv PassEnv
	// Sandbox, when set, contains every untrusted run (RunSpec.Untrusted). Nil runs them as
	// plain processes (terraform.sandbox: off, or auto without bubblewrap).
	Sandbox *Sandbox
	// SandboxReadOnly are more host paths sandboxed runs may read (terraform.sandbox_read_only),
	// e.g. where the local provider's files live. They must not hold secrets or the data dir.
	SandboxReadOnly []string
	// Private are directories sandboxed runs never see, nor any directory that holds one: the data
	// dir and the daemon's home. A read-only path (a mirror named in the CLI config, say) that holds
	// one is left out of the sandbox.
	Private []string
	// SharedState, when set, keeps the state of stacks that declare no backend in PostgreSQL (two
	// replicas share it) instead of the data dir.
	SharedState *SharedState
}

// Runner runs Terraform for many stacks at once. It is safe for concurrent use, but two runs
// for the same stack and DataDir must not overlap (the reconciler's queue guarantees that).
type Runner struct {
	opts        Options
	binary      string
	lockTimeout string
	log         *slog.Logger
	// cliConfig is the CLI configuration file every run gets as TF_CLI_CONFIG_FILE ("" for none).
	cliConfig string

	// cliConfigCache is true when the CLI configuration names a plugin cache itself
	// (plugin_cache_dir), which trueup cannot keep an init away from.
	cliConfigCache bool
	// serialMu serializes inits that may write a plugin cache trueup cannot isolate them from.
	serialMu sync.Mutex

	warnedMu sync.Mutex
	warned   map[string]bool // stacks already warned about their backend

	inits atomic.Int64 // terraform init runs, for tests and metrics
	seeds atomic.Int64 // TF data dirs seeded from RunSpec.SeedDataDir instead of init
}

var _ reconciler.Runner = (*Runner)(nil)

// New checks that the terraform binary exists and returns a Runner.
func New(opts Options) (*Runner, error) {
	if opts.Binary == "" {
		opts.Binary = "terraform"
	}
	bin, err := exec.LookPath(opts.Binary)
	if err != nil {
		return nil, fmt.Errorf("find terraform binary %q: %w", opts.Binary, err)
	}
	if bin, err = filepath.Abs(bin); err != nil {
		return nil, fmt.Errorf("find terraform binary %q: %w", opts.Binary, err)
	}
	if opts.CLIConfigFile != "" {
		if opts.CLIConfigFile, err = filepath.Abs(opts.CLIConfigFile); err != nil {
			return nil, fmt.Errorf("terraform cli config: %w", err)
		}
	}
	if opts.PluginCacheDir != "" {
		if opts.PluginCacheDir, err = filepath.Abs(opts.PluginCacheDir); err != nil {
			return nil, fmt.Errorf("terraform plugin cache: %w", err)
		}
		// Terraform ignores a cache directory that does not exist.
		if err := os.MkdirAll(opts.PluginCacheDir, 0o755); err != nil {
			return nil, fmt.Errorf("terraform plugin cache: %w", err)
		}
	}
	lt := opts.LockTimeout
	switch {
	case lt == 0:
		lt = DefaultLockTimeout
	case lt < 0:
		lt = 0
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cliConfig := resolveCLIConfig(opts.CLIConfigFile)
	cfg, _ := os.ReadFile(cliConfig) // a missing CLI config is Terraform's business
	return &Runner{
		opts:           opts,
		cliConfig:      cliConfig,
		cliConfigCache: strings.Contains(string(cfg), "plugin_cache_dir"),
		binary:         bin,
		lockTimeout:    lt.String(),
		log:            log,
		warned:         map[string]bool{},
	}, nil
}

// Binary is the absolute path of the terraform executable.
func (r *Runner) Binary() string { return r.binary }

// CLIConfig is the CLI configuration file every run gets as TF_CLI_CONFIG_FILE ("" for none).
func (r *Runner) CLIConfig() string { return r.cliConfig }

// Version returns the Terraform version ("1.5.7").
func (r *Runner) Version(ctx context.Context) (string, error) {
	tf, err := tfexec.NewTerraform(os.TempDir(), r.binary)
	if err != nil {
		return "", fmt.Errorf("terraform version: %w", err)
	}
	env, err := r.buildEnv("", "", nil, nil)
	if err != nil {
		return "", fmt.Errorf("terraform version: %w", err)
	}
	if err := tf.SetEnv(env); err != nil {
		return "", fmt.Errorf("terraform version: %w", err)
	}
	v, _, err := tf.Version(ctx, true)
	if err != nil {
		return "", fmt.Errorf("terraform version: %w", err)
	}
	return v.String(), nil
}

// warnOnce logs msg at warning level the first time it is called for key.
func (r *Runner) warnOnce(ctx context.Context, key, msg string, args ...any) {
	r.warnedMu.Lock()
	seen := r.warned[key]
	r.warned[key] = true
	r.warnedMu.Unlock()
	if !seen {
		r.log.WarnContext(ctx, msg, args...)
	}
}
