package remote

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/trueup/trueup/reconciler"
)

// defaultExitGrace is how long a runner that reported its result may take to exit on its own.
const defaultExitGrace = 10 * time.Second

// dispatch registers a run, starts its runner (or claims the one adopted after a restart doing
// the same work) and waits for its result, the runner's end, a deadline or ctx, whichever comes
// first. The run's token is dead when it returns, and the runner has ended, was told to stop, or
// is left a moment to exit after its result (then stopped).
func (r *Runner) dispatch(ctx context.Context, spec reconciler.RunSpec, purpose Purpose, planFile []byte, planSum string) (delivered, error) {
	op, stack := string(purpose), spec.Stack.Name
	if busy := r.adoptedApply(stack); busy != nil {
		r.log.Info("waiting for an apply adopted after a restart", "stack", stack)
		select {
		case <-busy:
		case <-ctx.Done():
			return delivered{}, ctxError(ctx, op, fmt.Errorf("%s: waiting for the apply in flight since before the restart: %w", stack, ctx.Err()))
		}
	}
	select {
	case r.sem <- struct{}{}:
		defer func() { <-r.sem }()
	case <-ctx.Done():
		return delivered{}, ctxError(ctx, op, fmt.Errorf("%s: waiting for a free runner slot: %w", stack, ctx.Err()))
	}
	job := r.job(spec, purpose, planSum)
	key := runKey(job)
	if rn := r.claim(key); rn != nil {
		return r.resume(ctx, rn, job, spec, planFile)
	}
	rn := &run{job: job, key: key, stack: stack, workdir: spec.Workdir, planFile: planFile, uploadDir: spec.DataDir}
	token, err := r.register(rn)
	if err != nil {
		return delivered{}, reconciler.Errorf(reconciler.KindTransient, op, fmt.Errorf("%s: register run: %w", stack, err))
	}
	defer r.unregister(rn)
	started := r.now()
	startCtx, cancel := context.WithTimeout(ctx, r.opts.StartTimeout)
	task, err := r.opts.Executor.Start(startCtx, Launch{RunID: rn.id, URL: r.opts.URL(), Token: token, Purpose: purpose, Stack: stack,
		Untrusted: spec.Untrusted, Meta: r.launchMeta(rn)})
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return delivered{}, ctxError(ctx, op, fmt.Errorf("%s: start runner: %w", stack, err))
		}
		return delivered{}, reconciler.Errorf(reconciler.KindTransient, op, fmt.Errorf("%s: start runner: %w", stack, err))
	}
	f := &flight{r: r, rn: rn, task: task, end: watchEnd(task), op: op, stack: stack, started: started,
		log: r.log.With("stack", stack, "run", rn.id, "purpose", purpose)}
	f.log.Debug("runner started")
	return f.watch(ctx)
}

// resume watches an adopted run a dispatch claimed, now that its job is known.
func (r *Runner) resume(ctx context.Context, rn *run, job Job, spec reconciler.RunSpec, planFile []byte) (delivered, error) {
	defer r.unregister(rn)
	job.RunID = rn.id
	rn.mu.Lock()
	rn.job, rn.workdir, rn.planFile, rn.pending = job, spec.Workdir, planFile, false
	rn.mu.Unlock()
	f := &flight{r: r, rn: rn, task: rn.adopted.end.task, end: rn.adopted.end, op: string(job.Purpose), stack: spec.Stack.Name,
		started: rn.adopted.found, log: r.log.With("stack", spec.Stack.Name, "run", rn.id, "purpose", job.Purpose)}
	f.log.Info("resuming a runner adopted after a restart")
	return f.watch(ctx)
}

// flight is one started runner, watched until its run ends.
type flight struct {
	r         *Runner
	rn        *run
	task      Task
	end       *ending // the task's Wait
	op, stack string
	started   time.Time
	log       *slog.Logger
}

// watch waits for the run's end: a result, the runner's end without one, a deadline, or ctx.
func (f *flight) watch(ctx context.Context) (delivered, error) {
	reaping := false
	defer func() {
		if !reaping {
			f.end.cancel()
		}
	}()
	tick := time.NewTicker(min(f.r.opts.HeartbeatInterval, time.Second))
	defer tick.Stop()
	for {
		select {
		case d := <-f.rn.result:
			reaping = true
			go f.reap(ctx)
			return f.outcome(d)
		case <-f.end.done:
			select {
			case d := <-f.rn.result: // reported, then exited before we looked
				return f.outcome(d)
			default:
			}
			reason := "it exited"
			if f.end.err != nil {
				reason = f.end.err.Error()
			}
			f.stop(ctx, "ended without a result")
			return delivered{}, f.transient("the runner ended without a result: %s", reason)
		case <-tick.C:
			if reason, err := f.overdue(); err != nil {
				f.stop(ctx, reason)
				return delivered{}, err
			}
		case <-ctx.Done():
			f.stop(ctx, "canceled")
			return delivered{}, ctxError(ctx, f.op, fmt.Errorf("%s: runner stopped: %w", f.stack, ctx.Err()))
		}
	}
}

// overdue reports a runner that did not call in time, or went silent, with why.
func (f *flight) overdue() (string, error) {
	contacted, last := f.rn.seen()
	now := f.r.now()
	switch {
	case !contacted && now.Sub(f.started) > f.r.opts.StartTimeout:
		return "never started", f.transient("the runner did not start: no call from it within %s", f.r.opts.StartTimeout)
	case contacted && now.Sub(last) > f.r.opts.ReportTimeout:
		return "stopped reporting", f.transient("the runner stopped reporting: no word from it for %s", f.r.opts.ReportTimeout)
	}
	return "", nil
}

// outcome is what the accepted result says.
func (f *flight) outcome(d delivered) (delivered, error) {
	f.log.Debug("runner reported", "duration", f.r.now().Sub(f.started).Round(time.Millisecond))
	if d.res.Error != nil {
		return delivered{}, d.res.Error.err()
	}
	return d, nil
}

func (f *flight) transient(format string, args ...any) error {
	return reconciler.Errorf(reconciler.KindTransient, f.op, fmt.Errorf("%s: "+format, append([]any{f.stack}, args...)...))
}

// stop kills the run's token, then stops its runner, within StopTimeout.
func (f *flight) stop(ctx context.Context, reason string) {
	f.r.unregister(f.rn)
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.r.opts.StopTimeout)
	defer cancel()
	if err := f.task.Stop(stopCtx, reason); err != nil {
		f.log.Warn("stop runner", "reason", reason, "err", err)
	}
}

// reap gives a runner that reported its result a moment to exit, then stops it.
func (f *flight) reap(ctx context.Context) {
	defer f.end.cancel()
	t := time.NewTimer(f.r.exitGrace)
	defer t.Stop()
	select {
	case <-f.end.done:
	case <-t.C:
		f.stop(ctx, "did not exit after its result")
	}
}

// ctxError is the error of a run ended by ctx: KindCanceled when trueup stopped it, KindTransient
// for a deadline (it may succeed next time), as the local runner reports them.
func ctxError(ctx context.Context, op string, err error) error {
	kind := reconciler.KindCanceled
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		kind = reconciler.KindTransient
	}
	return reconciler.Errorf(kind, op, err)
}
