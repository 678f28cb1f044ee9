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
	r.queue.Add(Key{Stack: stack, Branch: r.opts.Branch})
}

// driftCheck plans the stack at its applied revision and, by policy, corrects, holds or alerts.
func (r *Reconciler) driftCheck(ctx context.Context, stack Stack, st StackState, head Revision, p DriftPolicy) {
	spec := r.spec(stack, head, r.opts.Branch)
	run := r.startRun(ctx, stack.Name, r.opts.Branch, RunDrift, head)
	log := r.log.With("stack", stack.Name, "rev", head.Short(), "run", run.ID)

	plan, err := r.plan(ctx, spec, PurposeDrift)
	now := r.opts.Now()
	if err != nil {
		run.Finished, run.Error = now, err.Error()
		run.Result = ResultFailed
		run.Transient = true
		if KindOf(err) == KindCanceled {
			run.Result = ResultInterrupted
		} else {
			st.Failures++
			st.RetryAt = now.Add(Backoff(st.Failures))
			log.Error("drift check failed; retrying with backoff", "err", err, "retry_at", st.RetryAt)
			r.retryDrift(stack.Name, st.RetryAt.Sub(now))
		}
		st.LastRun = &run
		r.finishRun(ctx, run)
		r.save(ctx, st)
		return
	}
	r.drift.clearDue(stack.Name)
	v := JudgeDrift(p, plan, st.Drift)
	if v.Next.Drifted && v.Next.Since.IsZero() {
		v.Next.Since = now
	}
	v.Next.LastChecked = now
	run.Changes, run.Drift = plan.Changes, plan.Drift
	var events []Event
	if v.Event != "" {
		events = append(events, driftEvent(stack.Name, head, v, plan, now))
	}
	st.Drift = v.Next
	run.Result = ResultSucceeded
	// A drift that persists unchanged is logged at debug level: its alert went out when it began.
	level := slog.LevelWarn
	if v.Event == "" {
		level = slog.LevelDebug
	}
	switch {
	case v.Held != "":
		run.Result = ResultHeld
		log.Log(ctx, level, "drift correction held", "reason", v.Held, "changes", plan.Summary())
	case v.Drifted && !v.Apply:
		log.Log(ctx, level, "drift found; alert only", "changes", plan.Summary())
	case v.Drifted:
		log.Warn("drift found; correcting", "changes", plan.Summary())
	default:
		log.Debug("no drift")
	}
	if !v.Apply {
		run.Finished = now
		st.LastRun = &run
		st.Failures, st.RetryAt = 0, time.Time{}
		r.finishRun(ctx, run)
		r.save(ctx, st, events...)
		return
	}
	// Record the alert before correcting, so it goes out even if the correction takes long.
	r.save(ctx, st, events...)
	events = nil

	err = r.apply(ctx, spec, plan, 0)
	now = r.opts.Now()
	run.Finished = now
	switch {
	case err == nil:
		st.Drift = DriftState{LastChecked: now}
		st.Failures, st.RetryAt = 0, time.Time{}
		events = append(events, driftResolvedEvent(stack.Name, head, "corrected by trueup: applied "+plan.Summary(), plan.Changes, now))
		log.Info("drift corrected", "changes", plan.Summary())
	case KindOf(err) == KindCanceled:
		run.Result, run.Error = ResultInterrupted, err.Error()
		events = append(events, interruptedEvent(run, now))
	default:
		run.Result, run.Error, run.Transient = ResultFailed, err.Error(), true
		st.Failures++
		st.Drift.CorrectionFailures++
		st.RetryAt = now.Add(Backoff(st.Failures))
		if st.Drift.CorrectionFailures == 1 {
			events = append(events, correctionFailedEvent(run, plan.Changes, now))
		}
		log.Error("drift correction failed; retrying with backoff", "err", err, "retry_at", st.RetryAt)
		r.retryDrift(stack.Name, st.RetryAt.Sub(now))
	}
	st.LastRun = &run
	r.finishRun(ctx, run)
	r.save(ctx, st, events...)
}

func (r *Reconciler) retryDrift(stack string, after time.Duration) {
	r.drift.markDue(stack)
	r.queue.AddAfter(Key{Stack: stack, Branch: r.opts.Branch}, after)
}

// forgetRemovedStacks drops the drift schedule of stacks that are no longer in main's layout.
func (r *Reconciler) forgetRemovedStacks(layout *Layout) {
	in := make(map[string]bool, len(layout.Stacks))
	for _, s := range layout.Stacks {
		in[s.Name] = true
	}
	r.drift.keepOnly(in)
}
