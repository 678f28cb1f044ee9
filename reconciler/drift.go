package reconciler

import (
	"context"
	"log/slog"
	"time"
)

// driftLoop marks stacks due for a drift check, each on its own jittered schedule, and queues them.
// A stack with a run in progress or queued is skipped: that run converges it anyway.
func (r *Reconciler) driftLoop(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		r.scheduleDrift(ctx)
	}
}

func (r *Reconciler) scheduleDrift(ctx context.Context) {
	r.mu.Lock()
	layout, head := r.layout, r.head
	r.mu.Unlock()
	if layout == nil {
		return
	}
	now := r.opts.Now()
	r.forgetRemovedStacks(layout)
	for _, s := range layout.Stacks {
		p := s.Drift.Apply(r.opts.Drift)
		if p.Remediate == RemediateOff {
			continue
		}
		k := Key{Stack: s.Name, Branch: r.opts.Branch}
		if !r.drift.tick(s.Name, p.Interval, now) || r.queue.Processing(k) || r.queue.Pending(k) {
			continue
		}
		st, err := r.store.Stack(ctx, s.Name)
		if err != nil || st.SyncedRev != head {
			continue // not applied yet, or a newer revision is pending: the apply converges it
		}
		r.RequestDriftCheck(s.Name)
	}
}

// RequestDriftCheck asks for a drift check of one stack on main as soon as a worker is free.
func (r *Reconciler) RequestDriftCheck(stack string) {
	r.drift.markDue(stack)
	r.queue.AddPriority(Key{Stack: stack, Branch: r.opts.Branch}, PriorityDrift)
}

// driftCheck plans the stack at its applied revision and, by policy, corrects, holds or alerts:
// observe (plan), decide (driftCheckOutcome, then correctionOutcome), act and record.
func (r *Reconciler) driftCheck(ctx context.Context, spec RunSpec, st StackState, p DriftPolicy) {
	stack, head := spec.Stack, spec.Revision
	run, ok := r.startRun(ctx, stack.Name, r.opts.Branch, RunDrift, head)
	if !ok {
		return
	}
	log := r.log.With("stack", stack.Name, "rev", head.Short(), "run", run.ID)

	plan, err := r.plan(ctx, spec, PurposeDrift)
	st, run, events, retry, v := driftCheckOutcome(st, run, p, plan, err, r.opts.Now())
	logDriftCheck(ctx, log, v, plan, err, st)
	if err == nil {
		r.drift.clearDue(stack.Name)
	}
	if retry > 0 {
		r.retryDrift(stack.Name, retry)
	}
	if !v.Apply {
		r.finishRun(ctx, run)
		r.save(ctx, st, events...)
		return
	}
	// Record the alert before correcting, so it goes out even if the correction takes long.
	r.save(ctx, st, events...)

	err = r.apply(ctx, spec, plan, 0)
	st, run, events, retry = correctionOutcome(st, run, plan, err, r.opts.Now())
	switch {
	case err == nil:
		log.Info("drift corrected", "changes", plan.Summary())
	case run.Result == ResultFailed:
		log.Error("drift correction failed; retrying with backoff", "err", err, "retry_at", st.RetryAt)
	}
	if retry > 0 {
		r.retryDrift(stack.Name, retry)
	}
	r.finishRun(ctx, run)
	r.save(ctx, st, events...)
}

// logDriftCheck logs a drift check's verdict. A drift that persists unchanged is logged at debug
// level: its alert went out when it began.
func logDriftCheck(ctx context.Context, log *slog.Logger, v DriftVerdict, plan *Plan, err error, st StackState) {
	level := slog.LevelWarn
	if v.Event == "" {
		level = slog.LevelDebug
	}
	switch {
	case err != nil && KindOf(err) != KindCanceled:
		log.Error("drift check failed; retrying with backoff", "err", err, "retry_at", st.RetryAt)
	case err != nil:
	case v.Held != "":
		log.Log(ctx, level, "drift correction held", "reason", v.Held, "changes", plan.Summary())
	case v.Drifted && !v.Apply:
		log.Log(ctx, level, "drift found; alert only", "changes", plan.Summary())
	case v.Drifted:
		log.Warn("drift found; correcting", "changes", plan.Summary())
	default:
		log.Debug("no drift")
	}
}

func (r *Reconciler) retryDrift(stack string, after time.Duration) {
	r.drift.markDue(stack)
	r.queue.AddAfterPriority(Key{Stack: stack, Branch: r.opts.Branch}, PriorityDrift, after)
}

// forgetRemovedStacks drops the drift schedule of stacks that are no longer in main's layout.
func (r *Reconciler) forgetRemovedStacks(layout *Layout) {
	in := make(map[string]bool, len(layout.Stacks))
	for _, s := range layout.Stacks {
		in[s.Name] = true
	}
	r.drift.keepOnly(in)
}
