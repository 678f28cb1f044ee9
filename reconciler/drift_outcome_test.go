package reconciler

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestDriftCheckOutcome(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	rev := Revision("dddddddddddd")
	drifted := &Plan{Complete: true, Changes: []ResourceChange{{Address: "local_file.a", Action: ActionCreate}},
		Drift: []ResourceDrift{{Address: "local_file.a", Change: "deleted"}}}
	auto := DriftPolicy{Interval: time.Hour, Remediate: RemediateAuto}
	alert := DriftPolicy{Interval: time.Hour, Remediate: RemediateAlert}
	tests := []struct {
		name       string
		prev       StackState
		policy     DriftPolicy
		plan       *Plan
		err        error
		wantResult RunResult
		wantEvents []EventKind
		wantRetry  time.Duration
		wantApply  bool
		finished   bool
	}{
		{name: "in sync", policy: auto, plan: &Plan{Complete: true}, wantResult: ResultSucceeded, finished: true},
		{name: "drift found, corrected next", policy: auto, plan: drifted, wantResult: ResultSucceeded,
			wantEvents: []EventKind{EventDriftDetected}, wantApply: true},
		{name: "drift found, alert only", policy: alert, plan: drifted, wantResult: ResultSucceeded,
			wantEvents: []EventKind{EventDriftDetected}, finished: true},
		{name: "drift gone by itself", policy: auto, plan: &Plan{Complete: true}, prev: StackState{Drift: DriftState{Drifted: true, Since: now.Add(-time.Hour)}},
			wantResult: ResultSucceeded, wantEvents: []EventKind{EventDriftResolved}, finished: true},
		{name: "check failed backs off", policy: auto, prev: StackState{Failures: 1}, err: errors.New("plan failed"),
			wantResult: ResultFailed, wantRetry: Backoff(2), finished: true},
		{name: "check interrupted", policy: auto, err: Errorf(KindCanceled, "plan", errors.New("canceled")),
			wantResult: ResultInterrupted, finished: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.prev.Name = "stacks/a"
			run := RunRecord{Stack: "stacks/a", Kind: RunDrift, Revision: rev, Result: ResultRunning}
			st, run, events, retry, v := driftCheckOutcome(tt.prev, run, tt.policy, tt.plan, tt.err, now)
			assert.Equal(t, tt.wantResult, run.Result)
			assert.Equal(t, tt.wantRetry, retry)
			assert.Equal(t, tt.wantApply, v.Apply)
			assert.Equal(t, tt.finished, !run.Finished.IsZero(), "finished unless a correction follows")
			var kinds []EventKind
			for _, e := range events {
				kinds = append(kinds, e.Kind)
			}
			assert.Equal(t, tt.wantEvents, kinds)
			if tt.err == nil {
				assert.Equal(t, now, st.Drift.LastChecked)
			}
			if v.Event == EventDriftResolved {
				assert.Equal(t, "none: the real world matches git again (changed outside trueup)", events[0].Action)
			}
		})
	}
}

func TestCorrectionOutcome(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	plan := &Plan{Changes: []ResourceChange{{Address: "local_file.a", Action: ActionCreate}}}
	drifting := StackState{Name: "stacks/a", Drift: DriftState{Drifted: true}}
	run := RunRecord{Stack: "stacks/a", Kind: RunDrift, Revision: "eeeeeeee", Result: ResultSucceeded}

	st, got, events, retry := correctionOutcome(drifting, run, plan, nil, now)
	assert.False(t, st.Drift.Drifted)
	assert.Equal(t, ResultSucceeded, got.Result)
	assert.Zero(t, retry)
	assert.Equal(t, []Event{driftResolvedEvent("stacks/a", "eeeeeeee", "corrected by trueup: applied +1 ~0 -0", plan.Changes, now)}, events)

	st, got, events, retry = correctionOutcome(drifting, run, plan, errors.New("apply failed"), now)
	assert.Equal(t, ResultFailed, got.Result)
	assert.True(t, got.Transient)
	assert.Equal(t, Backoff(1), retry)
	assert.Equal(t, 1, st.Drift.CorrectionFailures)
	assert.Len(t, events, 1, "the first failure of an episode is told")

	_, _, events, _ = correctionOutcome(st, run, plan, errors.New("apply failed"), now)
	assert.Empty(t, events, "later failures of the same episode are not")

	_, got, events, retry = correctionOutcome(drifting, run, plan, Errorf(KindCanceled, "apply", errors.New("canceled")), now)
	assert.Equal(t, ResultInterrupted, got.Result)
	assert.Zero(t, retry)
	assert.Equal(t, EventRunInterrupted, events[0].Kind)
}
