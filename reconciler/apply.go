package reconciler

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// reconcileMain observes one stack on main, decides, and acts.
func (r *Reconciler) reconcileMain(ctx context.Context, k Key) {
	r.mu.Lock()
	head, layout := r.head, r.layout
	driftDue := r.drift.isDue(k.Stack)
	forced := r.drift.takeForced(k.Stack)
	r.mu.Unlock()
	if head == "" || layout == nil {
		return
	}
	log := r.log.With("stack", k.Stack)

	st, err := r.store.Stack(ctx, k.Stack)
	known := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		log.Error("read stack state; retrying in 30s", "err", err)
		r.queue.AddAfter(k, 30*time.Second)
		return
	}
	stack, inLayout := layout.Stack(k.Stack)
	if !known {
		st = StackState{Name: stack.Name, Dir: stack.Dir, Workspace: stack.Workspace}
	}
	if inLayout {
		st.Dir, st.Workspace, st.Removed = stack.Dir, stack.Workspace, false
	}
	st = r.applyApproval(ctx, st)

	affected := false
	if inLayout && st.SyncedRev != "" && st.SyncedRev != head {
		changed, err := r.changedPaths(ctx, st.SyncedRev, head)
		if err != nil {
			// Not knowing what changed must not skip a change: plan it.
			log.Warn("cannot diff revisions; planning the stack to be safe", "from", st.SyncedRev.Short(), "to", head.Short(), "err", err)
			affected = true
		} else {
			affected = layout.Affects(stack, changed)
		}
	}
	policy := stack.Drift.Apply(r.opts.Drift)
	d := Decide(Snapshot{
		Now: r.opts.Now(), Head: head, InLayout: inLayout, Known: known, State: st,
		Affected: affected, DriftDue: driftDue, Forced: forced, Policy: policy,
	})
	log.Debug("decided", "step", d.Step.String(), "why", d.Why, "rev", head.Short())

	switch d.Step {
	case StepNone:
		if driftDue && st.SyncedRev != head {
			// The pending apply converges the stack; the drift check waits for the next interval.
			r.drift.clearDue(k.Stack)
		}
	case StepRemove:
		st.Removed = true
		r.save(ctx, st, stackRemovedEvent(st.Name, head, r.opts.Now()))
	case StepMarkSynced:
		st.SyncedRev = head
		r.save(ctx, st)
	case StepRetryLater:
		r.queue.AddAfter(k, d.At.Sub(r.opts.Now()))
	case StepApply:
		r.drift.clearDue(k.Stack)
		r.applyHead(ctx, stack, st, head)
	case StepDriftCheck:
		r.driftCheck(ctx, stack, st, head, policy)
	}
}

// applyApproval records an approval given for the stack's held apply, in the worker that owns the
// stack's state. An approval for a revision no longer held is dropped.
func (r *Reconciler) applyApproval(ctx context.Context, st StackState) StackState {
	rev, ok := r.approvals.take(st.Name)
	if !ok || st.Held == nil || st.Held.Revision != rev {
		return st
	}
	st.ApprovedRev = rev
	r.save(ctx, st)
	return st
}

// applyHead plans the stack at head and applies exactly that plan: observe (plan, the reviewed
// pull request), decide (applyOutcome, or holdOutcome), act and record.
func (r *Reconciler) applyHead(ctx context.Context, stack Stack, st StackState, head Revision) {
	spec := r.spec(stack, head, r.opts.Branch)
	run := r.startRun(ctx, stack.Name, r.opts.Branch, RunApply, head)
	log := r.log.With("stack", stack.Name, "rev", head.Short(), "run", run.ID)
	log.Info("apply started")

	plan, err := r.plan(ctx, spec, PurposePlan)
	pr, merged := r.reviewedPull(ctx, head)
	if err == nil {
		run.Changes = plan.Changes
		if merged && st.ApprovedRev != head {
			if why := r.checkReviewed(ctx, pr, stack.Name, plan); why != "" {
				r.holdApply(ctx, st, run, plan, pr, why)
				return
			}
		}
		if plan.HasChanges() {
			err = r.apply(ctx, spec, plan, pr)
		}
	}
	st, run, events, retry := applyOutcome(st, run, plan, err, r.opts.Now())
	switch run.Result {
	case ResultSucceeded, ResultNoChanges:
		log.Info("apply finished", "result", run.Result, "changes", plan.Summary(), "duration", run.Finished.Sub(run.Started).Round(time.Millisecond))
	case ResultInterrupted:
		log.Warn("apply interrupted by shutdown; it runs again at the next start", "err", err)
	default:
		log.Error("apply failed", "kind", KindOf(err).String(), "err", err, "retry_at", st.RetryAt)
	}
	if retry > 0 {
		r.queue.AddAfter(Key{Stack: stack.Name, Branch: r.opts.Branch}, retry)
	}
	r.finishRun(ctx, run)
	r.save(ctx, st, events...)
	if merged {
		r.recordMergeResult(ctx, pr, stack.Name, run, "")
	}
	if err == nil && !stack.OnApply.IsZero() {
		r.runHooks(ctx, stack, head, plan)
	}
}

// runHooks runs the stack's on_apply hooks and records the result. A failure is alerted; the apply stands.
func (r *Reconciler) runHooks(ctx context.Context, stack Stack, head Revision, plan *Plan) {
	err := r.opts.Hooks.AfterApply(ctx, stack, head, plan.Summary())
	now := r.opts.Now()
	res := &HookResult{Revision: head, Time: now, OK: err == nil}
	var events []Event
	if err != nil {
		res.Error = err.Error()
		r.log.Error("on_apply hook failed; the apply stands", "stack", stack.Name, "rev", head.Short(), "err", err)
		events = append(events, hookFailedEvent(stack.Name, head, err, now))
	} else {
		r.log.Info("on_apply hook finished", "stack", stack.Name, "rev", head.Short())
	}
	st, serr := r.store.Stack(ctx, stack.Name)
	if serr != nil {
		r.log.Error("read stack state", "stack", stack.Name, "err", serr)
		return
	}
	st.Hook = res
	r.save(ctx, st, events...)
}

// holdApply records that a merged plan differs from the reviewed one and tells the pull request and Slack.
func (r *Reconciler) holdApply(ctx context.Context, st StackState, run RunRecord, plan *Plan, pr int, why string) {
	st, run, held := holdOutcome(st, run, plan, pr, why, r.opts.Now())
	r.log.Warn("apply held: the merged plan differs from the reviewed one", "stack", st.Name, "rev", run.Revision.Short(), "pr", pr, "reason", why)
	r.finishRun(ctx, run)
	r.save(ctx, st, held)
	r.recordMergeResult(ctx, pr, st.Name, run, why)
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
