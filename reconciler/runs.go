package reconciler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"time"
)

// The run helpers: where a run happens, its credentials, plan and apply through the Runner, and
// recording its start, end and outcome. Low in the picture: apply, drift and the planner use them,
// they call nothing above them.

// spec is where one stack on one branch or pull request (target) runs; stackDirs are the
// directories of every stack of rev, whose checkout leaves the other stacks' out (skipDirs). Runs of
// any target but the applied branch run untrusted code. Names are injective (Slug): two stacks or
// targets never share a directory.
func (r *Reconciler) spec(s Stack, rev Revision, target string, stackDirs []string) RunSpec {
	spec := RunSpec{
		Stack:     s,
		Revision:  rev,
		Workdir:   filepath.Join(r.opts.DataDir, "work", Slug(target), s.Slug()),
		Skip:      skipDirs(stackDirs, s),
		DataDir:   filepath.Join(r.opts.DataDir, "tfdata", Slug(target), s.Slug()),
		StatePath: filepath.Join(r.stateDir(s.Name), "terraform.tfstate"),
		Untrusted: target != r.opts.Branch,
	}
	if spec.Untrusted {
		// A branch's first plan starts from main's initialised TF data dir when the init inputs match.
		spec.SeedDataDir = filepath.Join(r.opts.DataDir, "tfdata", Slug(r.opts.Branch), s.Slug())
	}
	return spec
}

// stateDir is where a stack without a backend keeps its state.
func (r *Reconciler) stateDir(stack string) string {
	return filepath.Join(r.opts.DataDir, "state", Slug(stack))
}

// apply applies exactly plan with apply credentials (never given to plans).
func (r *Reconciler) apply(ctx context.Context, spec RunSpec, plan *Plan, pr int) error {
	spec, err := r.withCredentials(ctx, spec, PurposeApply, r.opts.Branch, pr)
	if err != nil {
		return err
	}
	start := time.Now()
	_, err = r.runner.Apply(ctx, spec, plan)
	r.opts.Metrics.TerraformDuration("apply", time.Since(start))
	return r.redactErr(err)
}

// withCredentials returns spec with the cloud credentials for purpose, and nothing else, in its Env.
// branch is where the run's code comes from; spec.Untrusted says whether it is trusted.
func (r *Reconciler) withCredentials(ctx context.Context, spec RunSpec, purpose RunPurpose, branch string, pr int) (RunSpec, error) {
	spec.Env = nil
	env, err := r.opts.Credentials.Env(ctx, CredentialRequest{
		Stack: spec.Stack, Revision: spec.Revision, Purpose: purpose, Branch: branch, Untrusted: spec.Untrusted, PullRequest: pr,
	})
	if err != nil {
		kind := KindOf(err)
		if ctx.Err() != nil {
			kind = KindCanceled
		}
		return spec, r.redactErr(Errorf(kind, "credentials for "+string(purpose), err))
	}
	spec.Env = env
	return spec, nil
}

// plan checks out spec.Revision of the applied branch and plans it with read-only credentials.
func (r *Reconciler) plan(ctx context.Context, spec RunSpec, purpose RunPurpose) (*Plan, error) {
	return r.planFor(ctx, spec, purpose, r.opts.Branch, 0)
}

// planFor checks out spec.Revision and plans it. What Terraform returns is redacted here, before
// anything records, logs or shows it.
func (r *Reconciler) planFor(ctx context.Context, spec RunSpec, purpose RunPurpose, branch string, pr int) (*Plan, error) {
	spec, err := r.withCredentials(ctx, spec, purpose, branch, pr)
	if err != nil {
		return nil, err
	}
	if err := r.src.Checkout(ctx, spec.Revision, spec.Workdir, spec.Skip...); err != nil {
		kind := KindFailed
		if ctx.Err() != nil {
			kind = KindCanceled
		}
		return nil, Errorf(kind, "checkout "+spec.Revision.Short(), err)
	}
	start := time.Now()
	plan, err := r.runner.Plan(ctx, spec)
	r.opts.Metrics.TerraformDuration("plan", time.Since(start))
	if err != nil {
		return nil, r.redactErr(err)
	}
	r.redactPlan(plan)
	return plan, nil
}

// startRun records a run as in flight. It reports false when the store refused the write as fenced:
// this replica is no longer the leader, and the run must not start (the new leader owns the stack).
// Any other failure to record is logged and the run goes ahead, as it always has on one replica.
func (r *Reconciler) startRun(ctx context.Context, stack, branch string, kind RunKind, rev Revision) (RunRecord, bool) {
	now := r.opts.Now()
	run := RunRecord{ID: newRunID(now), Stack: stack, Branch: branch, Kind: kind, Revision: rev, Started: now, Result: ResultRunning}
	if err := r.store.StartRun(ctx, run); err != nil {
		if errors.Is(err, ErrFenced) {
			r.log.Warn("run not started: this replica is no longer the leader", "stack", stack, "branch", branch)
			return run, false
		}
		r.log.Error("record run start", "stack", stack, "err", err)
	}
	return run, true
}

func (r *Reconciler) finishRun(ctx context.Context, run RunRecord) {
	r.opts.Metrics.RunFinished(run)
	if err := r.store.FinishRun(context.WithoutCancel(ctx), run); err != nil {
		r.log.Error("record run end", "stack", run.Stack, "err", err)
	}
}

// save writes the stack's state and queues its events. Writes use a context that outlives shutdown,
// so a run that finished is recorded even while trueup stops.
func (r *Reconciler) save(ctx context.Context, st StackState, events ...Event) {
	ctx = context.WithoutCancel(ctx)
	durable := events
	if r.opts.Alerts == nil {
		durable = nil
	}
	if err := r.store.PutStack(ctx, st, durable...); err != nil {
		r.log.Error("save stack state", "stack", st.Name, "err", err)
		return
	}
	r.announce(ctx, events, len(durable) > 0)
}

// redactErr returns err with every known secret in its text replaced (Options.Redact), keeping its
// kind. Terraform's error text is untrusted: branch code can make it print anything it read.
func (r *Reconciler) redactErr(err error) error {
	if err == nil {
		return nil
	}
	text := r.opts.Redact(err.Error())
	if text == err.Error() {
		return err
	}
	return &Error{Kind: KindOf(err), Op: "redacted", Err: errors.New(text)}
}

// redactPlan replaces known secrets in everything of plan that people are shown or trueup keeps.
func (r *Reconciler) redactPlan(p *Plan) {
	if p == nil {
		return
	}
	p.Rendered = r.opts.Redact(p.Rendered)
	for i := range p.Changes {
		p.Changes[i].Address = r.opts.Redact(p.Changes[i].Address)
	}
	for i := range p.Drift {
		p.Drift[i].Address = r.opts.Redact(p.Drift[i].Address)
	}
}

func newRunID(now time.Time) string {
	return fmt.Sprintf("%s-%06x", now.UTC().Format("20060102T150405.000"), rand.IntN(1<<24))
}

// recoverInterrupted reports runs that were in flight when trueup last stopped, and queues their stacks.
func (r *Reconciler) recoverInterrupted(ctx context.Context) {
	runs, err := r.store.InFlight(ctx)
	if err != nil {
		r.log.Error("read interrupted runs", "err", err)
		return
	}
	for _, run := range runs {
		now := r.opts.Now()
		run.Result, run.Finished = ResultInterrupted, now
		if run.Error == "" {
			run.Error = "trueup stopped while this run was in progress"
		}
		r.log.Warn("run was interrupted when trueup last stopped", slog.String("stack", run.Stack),
			slog.String("kind", string(run.Kind)), slog.String("rev", run.Revision.Short()), slog.Time("started", run.Started))
		r.finishRun(ctx, run)
		if run.Branch != r.opts.Branch {
			continue
		}
		st, err := r.store.Stack(ctx, run.Stack)
		if err != nil && !errors.Is(err, ErrNotFound) {
			r.log.Error("read stack state", "stack", run.Stack, "err", err)
			continue
		}
		if errors.Is(err, ErrNotFound) {
			st = StackState{Name: run.Stack}
		}
		st.LastRun = &run
		r.save(ctx, st, interruptedEvent(run, now))
	}
}
