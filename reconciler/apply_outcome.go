package reconciler

import "time"

// applyOutcome is what an apply on main leads to, decided from what is known when it ended: the
// stack's state before, the run (its Revision is the head applied), the plan (nil when planning
// failed) and the error of planning or applying. It returns the stack's next state, the finished
// run, the events to tell, and how long to wait before retrying (0: no retry; the next commit or a
// person runs it again).
func applyOutcome(st StackState, run RunRecord, plan *Plan, err error, now time.Time) (StackState, RunRecord, []Event, time.Duration) {
	prev := st.LastRun
	head := run.Revision
	run.Finished = now
	var events []Event
	var retry time.Duration
	switch {
	case err == nil:
		run.Result = ResultSucceeded
		if !plan.HasChanges() {
			run.Result = ResultNoChanges
		}
		st.AppliedRev, st.SyncedRev = head, head
		st.Failures, st.RetryAt, st.Held = 0, time.Time{}, nil
		if prev != nil && prev.Kind == RunApply && prev.Result == ResultFailed {
			events = append(events, applyRecoveredEvent(run.Stack, head, plan, now))
		}
		if st.Drift.Drifted {
			// A full apply at head converges the real world to git, so the drift episode ends here.
			st.Drift = DriftState{LastChecked: now}
			by := "corrected by the apply of " + head.Short() + ": applied " + plan.Summary()
			events = append(events, driftResolvedEvent(run.Stack, head, by, plan.Changes, now))
		}
	case KindOf(err) == KindCanceled:
		run.Result, run.Error = ResultInterrupted, err.Error()
		events = append(events, interruptedEvent(run, now))
	default:
		kind := KindOf(err)
		run.Result, run.Error = ResultFailed, err.Error()
		run.Transient = kind == KindTransient || kind == KindLocked
		st.Failures++
		if run.Transient {
			retry = retryDelay(kind, st.Failures)
			st.RetryAt = now.Add(retry)
		}
		firstAtRevision := prev == nil || prev.Result != ResultFailed || prev.Revision != head || prev.Kind != RunApply
		if firstAtRevision {
			events = append(events, applyFailedEvent(run, now))
		}
	}
	st.LastRun = &run
	return st, run, events, retry
}

// holdOutcome is the state and event of a merged plan that differs from the one reviewed on pull
// request pr.
func holdOutcome(st StackState, run RunRecord, plan *Plan, pr int, why string, now time.Time) (StackState, RunRecord, Event) {
	run.Finished, run.Result, run.Error = now, ResultHeld, why
	st.Held = &Hold{Revision: run.Revision, Reason: why, Changes: plan.Changes, Since: now}
	st.LastRun = &run
	return st, run, applyHeldEvent(st.Name, run.Revision, pr, why, plan.Changes, now)
}

// retryDelay is the wait before retrying a transient failure: short for a held lock, longer otherwise.
func retryDelay(kind ErrorKind, failures int) time.Duration {
	if kind == KindLocked {
		return min(10*time.Second*time.Duration(failures), 2*time.Minute)
	}
	return Backoff(failures)
}
