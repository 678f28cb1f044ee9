package remote

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/trueup/trueup/reconciler"
)

// defaultExitGrace is how long a runner that reported its result may take to exit on its own.
const defaultExitGrace = 10 * time.Second

// dispatch registers a run, starts its runner and waits for its result, the runner's end, a
// deadline or ctx, whichever comes first. The run's token is dead when it returns, and the runner
// has ended or was told to stop.
func (r *Runner) dispatch(ctx context.Context, spec reconciler.RunSpec, purpose Purpose, planFile []byte, planSum string) (delivered, error) {
	op, stack := string(purpose), spec.Stack.Name
	select {
	case r.sem <- struct{}{}:
		defer func() { <-r.sem }()
	case <-ctx.Done():
		return delivered{}, ctxError(ctx, op, fmt.Errorf("%s: waiting for a free runner slot: %w", stack, ctx.Err()))
	}
	rn := &run{job: r.job(spec, purpose, planSum), workdir: spec.Workdir, planFile: planFile, uploadDir: spec.DataDir}
	token, err := r.register(rn)
	if err != nil {
		return delivered{}, reconciler.Errorf(reconciler.KindTransient, op, fmt.Errorf("%s: register run: %w", stack, err))
	}
	defer r.unregister(rn)
	log := r.log.With("stack", stack, "run", rn.id, "purpose", purpose)
	started := r.now()
	startCtx, cancel := context.WithTimeout(ctx, r.opts.StartTimeout)
	task, err := r.opts.Executor.Start(startCtx, Launch{RunID: rn.id, URL: r.opts.URL(), Token: token, Purpose: purpose, Stack: stack, Untrusted: spec.Untrusted})
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return delivered{}, ctxError(ctx, op, fmt.Errorf("%s: start runner: %w", stack, err))
		}
		return delivered{}, reconciler.Errorf(reconciler.KindTransient, op, fmt.Errorf("%s: start runner: %w", stack, err))
	}
	log.Debug("runner started")

	exited := make(chan error, 1)
	waitCtx, stopWaiting := context.WithCancel(context.WithoutCancel(ctx))
	go func() { exited <- task.Wait(waitCtx) }()
	reaped := false
	defer func() {
		if !reaped {
			stopWaiting()
		}
	}()
	stop := func(reason string) {
		r.unregister(rn) // the token dies before the runner is told to stop
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.opts.StopTimeout)
		defer cancel()
		if err := task.Stop(stopCtx, reason); err != nil {
			log.Warn("stop runner", "reason", reason, "err", err)
		}
	}

	tick := time.NewTicker(min(r.opts.HeartbeatInterval, time.Second))
	defer tick.Stop()
	for {
		select {
		case d := <-rn.result:
			// The result is in: the runner exits on its own, and is stopped if it does not.
			reaped = true
			go r.reap(ctx, exited, stopWaiting, stop)
			log.Debug("runner reported", "duration", r.now().Sub(started).Round(time.Millisecond))
			if d.res.Error != nil {
				return delivered{}, d.res.Error.err()
			}
			return d, nil
		case err := <-exited:
			select {
			case d := <-rn.result: // reported, then exited before we looked
				if d.res.Error != nil {
					return delivered{}, d.res.Error.err()
				}
				return d, nil
			default:
			}
			reason := "it exited"
			if err != nil {
				reason = err.Error()
			}
			stop("ended without a result")
			return delivered{}, reconciler.Errorf(reconciler.KindTransient, op, fmt.Errorf("%s: the runner ended without a result: %s", stack, reason))
		case <-tick.C:
			contacted, last := rn.seen()
			now := r.now()
			switch {
			case !contacted && now.Sub(started) > r.opts.StartTimeout:
				stop("never started")
				return delivered{}, reconciler.Errorf(reconciler.KindTransient, op, fmt.Errorf("%s: the runner did not start: no call from it within %s", stack, r.opts.StartTimeout))
			case contacted && now.Sub(last) > r.opts.ReportTimeout:
				stop("stopped reporting")
				return delivered{}, reconciler.Errorf(reconciler.KindTransient, op, fmt.Errorf("%s: the runner stopped reporting: no word from it for %s", stack, r.opts.ReportTimeout))
			}
		case <-ctx.Done():
			stop("canceled")
			return delivered{}, ctxError(ctx, op, fmt.Errorf("%s: runner stopped: %w", stack, ctx.Err()))
		}
	}
}

// reap gives a runner that reported its result a moment to exit, then stops it.
func (r *Runner) reap(ctx context.Context, exited <-chan error, stopWaiting context.CancelFunc, stop func(string)) {
	defer stopWaiting()
	t := time.NewTimer(r.exitGrace)
	defer t.Stop()
	select {
	case <-exited:
	case <-t.C:
		stop("did not exit after its result")
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
