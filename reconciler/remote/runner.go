package remote

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/trueup/trueup/reconciler"
)

// PlanFileName is the plan file's name inside RunSpec.DataDir, as the local runner names it.
const PlanFileName = "plan.tfplan"

// Defaults of Options.
const (
	DefaultMaxParallel       = 20
	DefaultStartTimeout      = 2 * time.Minute
	DefaultHeartbeatInterval = 5 * time.Second
	DefaultReportTimeout     = 45 * time.Second
	DefaultStopTimeout       = 80 * time.Second
)

// Options configure a Runner.
type Options struct {
	// Executor starts the runners; required.
	Executor Executor
	// URL returns the control plane's base URL as runners reach it; required. It is read at each
	// dispatch (the listen address may be known only once the server listens).
	URL func() string
	// MaxParallel bounds the runs in flight at once (DefaultMaxParallel when 0).
	MaxParallel int
	// StartTimeout is how long a started runner may take to fetch its job.
	StartTimeout time.Duration
	// HeartbeatInterval is how often runners must say they are alive; ReportTimeout is how long
	// the daemon waits for any word from a runner before the run fails as "stopped reporting".
	HeartbeatInterval, ReportTimeout time.Duration
	// StopTimeout bounds stopping a runner (its Terraform gets an interrupt, then is killed).
	StopTimeout time.Duration
	// SharedFilesystem says runners see the daemon's files (the process executor): stacks
	// without a backend then keep their state where the local runner keeps it.
	SharedFilesystem bool
	// PassMain and PassPlans name the daemon's variables given to trusted and untrusted runs
	// (terraform.pass_env); the daemon reads them and sends their values with the run's job.
	PassMain, PassPlans []string
	// Terraform are the settings every runner applies (lock timeout, sandbox).
	Terraform JobTerraform
	// AdoptKey seals what trueup tells the platform about each runner (Launch.Meta); Adopt takes
	// only runners sealed with the same key. Keep it secret and stable across restarts (and shared
	// by replicas); nil means a random key, so no runner outlives this Runner.
	AdoptKey []byte
	// AdoptGrace is how long a plan runner adopted after a restart waits to be claimed
	// (DefaultAdoptGrace when 0).
	AdoptGrace time.Duration
	// SpoolDir keeps the plan files adopted runners upload before a dispatch claims them (the
	// system's temporary directory when ""). It should be on the file system of the data dirs.
	SpoolDir string
	// Logger receives dispatch logs and the runners' log lines (debug); nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Runner is a reconciler.Runner that runs each plan and apply in a runner started by an Executor.
// It returns the same plans and the same error kinds as the local runner:
//   - the runner's own Terraform errors keep their kind (failed, locked, transient);
//   - a runner that cannot be started, never calls, stops reporting, or ends without a result is
//     KindTransient, with the platform's reason;
//   - ctx canceled is KindCanceled (the runner is stopped), a ctx deadline KindTransient.
type Runner struct {
	opts Options
	log  *slog.Logger
	now  func() time.Time
	sem  chan struct{}
	// exitGrace is how long a runner that reported its result may take to exit on its own.
	exitGrace time.Duration

	adoptKey []byte

	mu   sync.Mutex
	runs map[string]*run
	// adopted are the runs adopted after a restart that no dispatch claimed yet, by runKey;
	// applying are the adopted applies among them, by stack.
	adopted  map[string]*run
	applying map[string]*run
	// vetted are the SHA-256s of the trusted plan files this daemon received, by path: Apply
	// applies a plan file only when it is still exactly what its plan runner produced.
	vetted map[string]string
}

var _ reconciler.Runner = (*Runner)(nil)

// New returns a Runner.
func New(opts Options) (*Runner, error) {
	if opts.Executor == nil || opts.URL == nil {
		return nil, errors.New("remote runner: an executor and a URL are required")
	}
	if opts.MaxParallel <= 0 {
		opts.MaxParallel = DefaultMaxParallel
	}
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&opts.StartTimeout, DefaultStartTimeout}, {&opts.HeartbeatInterval, DefaultHeartbeatInterval},
		{&opts.ReportTimeout, DefaultReportTimeout}, {&opts.StopTimeout, DefaultStopTimeout}, {&opts.AdoptGrace, DefaultAdoptGrace}} {
		if *d.v <= 0 {
			*d.v = d.def
		}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	if opts.SpoolDir == "" {
		opts.SpoolDir = os.TempDir()
	}
	key := opts.AdoptKey
	if len(key) == 0 {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("remote runner: adoption key: %w", err)
		}
	}
	return &Runner{opts: opts, log: log, now: now, sem: make(chan struct{}, opts.MaxParallel), exitGrace: defaultExitGrace, adoptKey: key,
		runs: map[string]*run{}, adopted: map[string]*run{}, applying: map[string]*run{}, vetted: map[string]string{}}, nil
}

// Plan runs a plan in a runner, and keeps the plan file it uploads at DataDir/plan.tfplan.
func (r *Runner) Plan(ctx context.Context, spec reconciler.RunSpec) (*reconciler.Plan, error) {
	if spec.Workdir == "" || spec.DataDir == "" {
		return nil, reconciler.Errorf(reconciler.KindFailed, "plan", errors.New("run spec needs Workdir and DataDir"))
	}
	d, err := r.dispatch(ctx, spec, PurposePlan, nil, "")
	if err != nil {
		return nil, err
	}
	p := d.res.Plan
	file := filepath.Join(spec.DataDir, PlanFileName)
	if err := moveFile(d.upload, file); err != nil {
		_ = os.Remove(d.upload)
		return nil, reconciler.Errorf(reconciler.KindFailed, "plan", fmt.Errorf("%s: keep the runner's plan file: %w", spec.Stack.Name, err))
	}
	r.mu.Lock()
	if spec.Untrusted {
		delete(r.vetted, file) // untrusted plans are never applied
	} else {
		r.vetted[file] = p.SHA256
	}
	r.mu.Unlock()
	return &reconciler.Plan{File: file, Changes: p.Changes, Drift: p.Drift, Complete: p.Complete, OutputChanges: p.OutputChanges,
		Rendered: p.Rendered, TerraformTime: time.Duration(p.TerraformMillis) * time.Millisecond}, nil
}

// Apply applies exactly plan.File in a runner: the file must be the one a trusted plan runner
// uploaded, byte for byte (SHA-256), and the runner checks the same hash on what it receives.
func (r *Runner) Apply(ctx context.Context, spec reconciler.RunSpec, plan *reconciler.Plan) (*reconciler.ApplyResult, error) {
	if plan == nil || plan.File == "" {
		return nil, reconciler.Errorf(reconciler.KindFailed, "apply", fmt.Errorf("%s: no plan file to apply", spec.Stack.Name))
	}
	if spec.Untrusted {
		return nil, reconciler.Errorf(reconciler.KindFailed, "apply", fmt.Errorf("%s: untrusted code is never applied", spec.Stack.Name))
	}
	data, sum, err := readPlanFile(plan.File)
	if err != nil {
		return nil, reconciler.Errorf(reconciler.KindFailed, "apply", fmt.Errorf("%s: %w", spec.Stack.Name, err))
	}
	r.mu.Lock()
	want, ok := r.vetted[plan.File]
	r.mu.Unlock()
	if !ok || want != sum {
		return nil, reconciler.Errorf(reconciler.KindFailed, "apply", fmt.Errorf("%s: the plan file %s is not the one its plan runner produced (SHA-256 %s): refusing to apply it", spec.Stack.Name, plan.File, sum))
	}
	d, err := r.dispatch(ctx, spec, PurposeApply, data, sum)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	delete(r.vetted, plan.File)
	r.mu.Unlock()
	return &reconciler.ApplyResult{TerraformTime: time.Duration(d.res.Apply.TerraformMillis) * time.Millisecond}, nil
}

func readPlanFile(path string) ([]byte, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", fmt.Errorf("read plan file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxPlanFile+1))
	if err != nil {
		return nil, "", fmt.Errorf("read plan file: %w", err)
	}
	if len(data) > MaxPlanFile {
		return nil, "", fmt.Errorf("plan file %s is larger than %d bytes", path, MaxPlanFile)
	}
	sum := sha256.Sum256(data)
	return data, hex.EncodeToString(sum[:]), nil
}

// job is the Job for spec: its environment is what the local runner would give Terraform on top
// of its own (the pass_env list for the kind of run, then the run's credentials).
func (r *Runner) job(spec reconciler.RunSpec, purpose Purpose, planSum string) Job {
	pass := r.opts.PassMain
	if spec.Untrusted {
		pass = r.opts.PassPlans
	}
	env := map[string]string{}
	for _, k := range pass {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
		}
	}
	for k, v := range spec.Env {
		env[k] = v
	}
	j := Job{
		Purpose: purpose, Revision: string(spec.Revision), Untrusted: spec.Untrusted, Render: spec.Render, Env: env,
		Stack:           JobStack{Name: spec.Stack.Name, Dir: spec.Stack.Dir, Workspace: spec.Stack.Workspace, VarFiles: spec.Stack.VarFiles},
		PlanSHA256:      planSum,
		HeartbeatMillis: r.opts.HeartbeatInterval.Milliseconds(),
		Terraform:       r.opts.Terraform,
	}
	if r.opts.SharedFilesystem {
		j.StatePath, j.DataDir, j.SeedDataDir = spec.StatePath, spec.DataDir, spec.SeedDataDir
	}
	return j
}

// moveFile renames from to to, or copies it where they are on different file systems (a plan
// file an adopted runner uploaded to the spool).
func moveFile(from, to string) error {
	if err := os.Rename(from, to); err == nil {
		return nil
	}
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(to, data, 0o600); err != nil {
		return err
	}
	return os.Remove(from)
}
