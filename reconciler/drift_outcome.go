package reconciler

import "time"

// driftCheckOutcome is what a drift check leads to, decided from the stack's state before, the
// run, the policy and the check's plan or error: the next state, the run (finished unless a
// correction follows: v.Apply), the events to tell now, how long to wait before checking again
// after a failure (0: none), and JudgeDrift's verdict.
func driftCheckOutcome(st StackState, run RunRecord, p DriftPolicy, plan *Plan, err error, now time.Time) (StackState, RunRecord, []Event, time.Duration, DriftVerdict) {
	if err != nil {
		run.Finished, run.Error, run.Result, run.Transient = now, err.Error(), ResultFailed, true
		var retry time.Duration
		if KindOf(err) == KindCanceled {
			run.Result = ResultInterrupted
		} else {
			st.Failures++
			retry = Backoff(st.Failures)
			st.RetryAt = now.Add(retry)
		}
		st.LastRun = &run
		return st, run, nil, retry, DriftVerdict{}
	}
	v := JudgeDrift(p, plan, st.Drift)
	if v.Next.Drifted && v.Next.Since.IsZero() {
		v.Next.Since = now
	}
	v.Next.LastChecked = now
	run.Changes, run.Drift = plan.Changes, plan.Drift
	var events []Event
	if v.Event != "" {
		events = append(events, driftEvent(st.Name, run.Revision, v, plan, now))
	}
	st.Drift = v.Next
	run.Result = ResultSucceeded
	if v.Held != "" {
		run.Result = ResultHeld
	}
	if !v.Apply {
		run.Finished = now
		st.LastRun = &run
		st.Failures, st.RetryAt = 0, time.Time{}
	}
	return st, run, events, 0, v
}

// correctionOutcome is what applying a drift check's plan leads to: the next state, the finished
// run, the events, and how long to wait before trying again after a failure (0: none).
func correctionOutcome(st StackState, run RunRecord, plan *Plan, err error, now time.Time) (StackState, RunRecord, []Event, time.Duration) {
	run.Finished = now
	var events []Event
	var retry time.Duration
	switch {
	case err == nil:
		st.Drift = DriftState{LastChecked: now}
		st.Failures, st.RetryAt = 0, time.Time{}
		events = append(events, driftResolvedEvent(st.Name, run.Revision, "corrected by trueup: applied "+plan.Summary(), plan.Changes, now))
	case KindOf(err) == KindCanceled:
		run.Result, run.Error = ResultInterrupted, err.Error()
		events = append(events, interruptedEvent(run, now))
	default:
		run.Result, run.Error, run.Transient = ResultFailed, err.Error(), true
		st.Failures++
		st.Drift.CorrectionFailures++
		retry = Backoff(st.Failures)
		st.RetryAt = now.Add(retry)
		if st.Drift.CorrectionFailures == 1 {
			events = append(events, correctionFailedEvent(run, plan.Changes, now))
		}
	}
	st.LastRun = &run
	return st, run, events, retry
}
