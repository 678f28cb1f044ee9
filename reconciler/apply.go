package reconciler

import (
	"context"
	"errors"
	"fmt"
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
		r.save(ctx, st, Event{
			Kind: EventStackRemoved, Stack: st.Name, Revision: head, Time: r.opts.Now(),
			Summary: st.Name + " is no longer in the repository; its resources were left as they are",
			Action:  "nothing destroyed: remove the resources by hand or with terraform destroy if intended",
		})
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

// applyHead plans the stack at head and applies exactly that plan.
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
	prev := st.LastRun
	now := r.opts.Now()
	run.Finished = now
	var events []Event
	switch {
	case err == nil:
		run.Result = ResultSucceeded
		if !plan.HasChanges() {
			run.Result = ResultNoChanges
		}
		st.AppliedRev, st.SyncedRev = head, head
		st.Failures, st.RetryAt, st.Held = 0, time.Time{}, nil
		if prev != nil && prev.Kind == RunApply && prev.Result == ResultFailed {
			events = append(events, Event{
				Kind: EventApplyRecovered, Stack: stack.Name, Revision: head, Time: now,
				Summary: stack.Name + " applied successfully again", Action: "applied " + plan.Summary(),
				Changes: plan.Changes,
			})
		}
		if st.Drift.Drifted {
			// A full apply at head converges the real world to git, so the drift episode ends here.
			st.Drift = DriftState{LastChecked: now}
			events = append(events, Event{
				Kind: EventDriftResolved, Stack: stack.Name, Revision: head, Time: now,
				Summary: driftSummary(EventDriftResolved, stack.Name, 0),
				Action:  "corrected by the apply of " + head.Short() + ": applied " + plan.Summary(), Changes: plan.Changes,
			})
		}
		log.Info("apply finished", "result", run.Result, "changes", plan.Summary(), "duration", now.Sub(run.Started).Round(time.Millisecond))
	case KindOf(err) == KindCanceled:
		run.Result, run.Error = ResultInterrupted, err.Error()
		log.Warn("apply interrupted by shutdown; it runs again at the next start", "err", err)
		events = append(events, interruptedEvent(run, now))
	default:
		run.Result, run.Error = ResultFailed, err.Error()
		kind := KindOf(err)
		run.Transient = kind == KindTransient || kind == KindLocked
		st.Failures++
		if run.Transient {
			delay := retryDelay(kind, st.Failures)
			st.RetryAt = now.Add(delay)
			r.queue.AddAfter(Key{Stack: stack.Name, Branch: r.opts.Branch}, delay)
		}
		firstAtRevision := prev == nil || prev.Result != ResultFailed || prev.Revision != head || prev.Kind != RunApply
		if firstAtRevision {
			events = append(events, Event{
				Kind: EventApplyFailed, Stack: stack.Name, Revision: head, Time: now,
				Summary: stack.Name + " failed to apply " + head.Short(),
				Action:  failureAction(run.Transient), Error: run.Error, Changes: run.Changes,
			})
		}
		log.Error("apply failed", "kind", kind.String(), "err", err, "retry_at", st.RetryAt)
	}
	st.LastRun = &run
	r.finishRun(ctx, run)
	r.save(ctx, st, events...)
	if merged {
		r.recordMergeResult(ctx, pr, stack.Name, run, "")
	}
	if err == nil && r.opts.Hooks != nil && !stack.OnApply.IsZero() {
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
		events = append(events, Event{
			Kind: EventHookFailed, Stack: stack.Name, Revision: head, Time: now,
			Summary: "the on_apply hook of " + stack.Name + " failed after a successful apply",
			Action:  "the apply was not rolled back", Error: err.Error(),
		})
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
	now := r.opts.Now()
	run.Finished, run.Result, run.Error = now, ResultHeld, why
	st.Held = &Hold{Revision: run.Revision, Reason: why, Changes: plan.Changes, Since: now}
	st.LastRun = &run
	r.log.Warn("apply held: the merged plan differs from the reviewed one", "stack", st.Name, "rev", run.Revision.Short(), "pr", pr, "reason", why)
	r.finishRun(ctx, run)
	r.save(ctx, st, Event{
		Kind: EventApplyHeld, Stack: st.Name, Revision: run.Revision, Time: now, PullRequest: pr,
		Summary: fmt.Sprintf("%s: the merge of #%d was not applied", st.Name, pr),
		Action:  "held until approved for this revision, or a new commit", Reason: why, Changes: plan.Changes,
	})
	r.recordMergeResult(ctx, pr, st.Name, run, why)
}

func failureAction(transient bool) string {
	if transient {
		return "will retry with backoff"
	}
	return "will run again on the next commit"
}

func interruptedEvent(run RunRecord, now time.Time) Event {
	return Event{
		Kind: EventRunInterrupted, Stack: run.Stack, Revision: run.Revision, Time: now,
		Summary: string(run.Kind) + " of " + run.Stack + " at " + run.Revision.Short() + " was interrupted",
		Action:  "it runs again from a fresh plan", Error: run.Error,
	}
}

// retryDelay is the wait before retrying a transient failure: short for a held lock, longer otherwise.
func retryDelay(kind ErrorKind, failures int) time.Duration {
	if kind == KindLocked {
		return min(10*time.Second*time.Duration(failures), 2*time.Minute)
	}
	return Backoff(failures)
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
