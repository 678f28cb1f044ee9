package reconciler

import (
	"context"
	"time"
)

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

// applyHead plans the stack at head (spec's revision) and applies exactly that plan: observe (plan,
// the reviewed pull request), decide (applyOutcome, or holdOutcome), act and record.
func (r *Reconciler) applyHead(ctx context.Context, spec RunSpec, st StackState) {
	stack, head := spec.Stack, spec.Revision
	run, ok := r.startRun(ctx, stack.Name, r.opts.Branch, RunApply, head)
	if !ok {
		return
	}
	log := r.log.With("stack", stack.Name, "rev", head.Short(), "run", run.ID)
	log.Info("apply started")

	plan, err := r.plan(ctx, spec, PurposePlan)
	pr, merged := r.plans.reviewedPull(ctx, head)
	if err == nil {
		run.Changes = plan.Changes
		if merged && st.ApprovedRev != head {
			if why := r.plans.checkReviewed(ctx, pr, stack.Name, plan); why != "" {
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
		r.plans.recordMergeResult(ctx, pr, stack.Name, run, "")
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
	r.plans.recordMergeResult(ctx, pr, st.Name, run, why)
}
