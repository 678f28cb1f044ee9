package reconciler

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestApplyOutcome(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	head := Revision("bbbbbbbbbbbbbbbb")
	changes := []ResourceChange{{Address: "local_file.a", Action: ActionCreate}}
	withChanges := &Plan{Changes: changes}
	failedAt := func(rev Revision, transient bool) *RunRecord {
		return &RunRecord{Kind: RunApply, Revision: rev, Result: ResultFailed, Transient: transient}
	}
	tests := []struct {
		name       string
		prev       StackState
		plan       *Plan
		err        error
		wantResult RunResult
		wantEvents []EventKind
		wantRetry  time.Duration
		check      func(t *testing.T, st StackState, run RunRecord, events []Event)
	}{
		{name: "applied", prev: StackState{Failures: 2, RetryAt: now, Held: &Hold{Revision: head}}, plan: withChanges,
			wantResult: ResultSucceeded, check: func(t *testing.T, st StackState, _ RunRecord, _ []Event) {
				assert.Equal(t, head, st.AppliedRev)
				assert.Equal(t, head, st.SyncedRev)
				assert.Zero(t, st.Failures)
				assert.Zero(t, st.RetryAt)
				assert.Nil(t, st.Held)
			}},
		{name: "nothing to apply", plan: &Plan{}, wantResult: ResultNoChanges},
		{name: "applied after failing", prev: StackState{LastRun: failedAt("aaaaaaaa", false)}, plan: withChanges,
			wantResult: ResultSucceeded, wantEvents: []EventKind{EventApplyRecovered}},
		{name: "applied while drifted ends the episode", prev: StackState{Drift: DriftState{Drifted: true}}, plan: withChanges,
			wantResult: ResultSucceeded, wantEvents: []EventKind{EventDriftResolved},
			check: func(t *testing.T, st StackState, _ RunRecord, events []Event) {
				assert.False(t, st.Drift.Drifted)
				assert.Equal(t, "corrected by the apply of bbbbbbbb: applied +1 ~0 -0", events[0].Action)
			}},
		{name: "interrupted", plan: withChanges, err: Errorf(KindCanceled, "apply", errors.New("context canceled")),
			wantResult: ResultInterrupted, wantEvents: []EventKind{EventRunInterrupted},
			check: func(t *testing.T, st StackState, _ RunRecord, _ []Event) { assert.Empty(t, st.AppliedRev) }},
		{name: "failed", err: Errorf(KindFailed, "plan", errors.New("Error: Invalid HCL")),
			wantResult: ResultFailed, wantEvents: []EventKind{EventApplyFailed},
			check: func(t *testing.T, st StackState, run RunRecord, events []Event) {
				assert.Equal(t, 1, st.Failures)
				assert.False(t, run.Transient)
				assert.Equal(t, "will run again on the next commit", events[0].Action)
				assert.Contains(t, events[0].Error, "Invalid HCL")
			}},
		{name: "failed again at the same revision tells nobody", prev: StackState{Failures: 1, LastRun: failedAt(head, false)},
			err: Errorf(KindFailed, "apply", errors.New("boom")), wantResult: ResultFailed,
			check: func(t *testing.T, st StackState, _ RunRecord, _ []Event) { assert.Equal(t, 2, st.Failures) }},
		{name: "state lock held retries soon", err: Errorf(KindLocked, "plan", errors.New("lock")),
			wantResult: ResultFailed, wantEvents: []EventKind{EventApplyFailed}, wantRetry: 10 * time.Second,
			check: func(t *testing.T, st StackState, run RunRecord, events []Event) {
				assert.True(t, run.Transient)
				assert.Equal(t, now.Add(10*time.Second), st.RetryAt)
				assert.Equal(t, "will retry with backoff", events[0].Action)
			}},
		{name: "transient failure backs off", prev: StackState{Failures: 2, LastRun: failedAt(head, true)},
			err: Errorf(KindTransient, "apply", errors.New("timeout")), wantResult: ResultFailed, wantRetry: Backoff(3)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := RunRecord{ID: "r1", Stack: "stacks/a", Kind: RunApply, Revision: head, Started: now.Add(-time.Minute), Result: ResultRunning}
			tt.prev.Name = "stacks/a"
			st, run, events, retry := applyOutcome(tt.prev, run, tt.plan, tt.err, now)
			assert.Equal(t, tt.wantResult, run.Result)
			assert.Equal(t, now, run.Finished)
			assert.Equal(t, &run, st.LastRun)
			assert.Equal(t, tt.wantRetry, retry)
			var kinds []EventKind
			for _, e := range events {
				kinds = append(kinds, e.Kind)
				assert.Equal(t, "stacks/a", e.Stack)
				assert.Equal(t, head, e.Revision)
			}
			assert.Equal(t, tt.wantEvents, kinds)
			if tt.check != nil {
				tt.check(t, st, run, events)
			}
		})
	}
}

func TestHoldOutcome(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	changes := []ResourceChange{{Address: "local_file.a", Action: ActionDelete}}
	st, run, e := holdOutcome(StackState{Name: "stacks/a"}, RunRecord{Stack: "stacks/a", Revision: "cccccccc"}, &Plan{Changes: changes}, 7, "plan differs", now)
	assert.Equal(t, ResultHeld, run.Result)
	assert.Equal(t, &Hold{Revision: "cccccccc", Reason: "plan differs", Changes: changes, Since: now}, st.Held)
	assert.Equal(t, EventApplyHeld, e.Kind)
	assert.Equal(t, "stacks/a: the merge of #7 was not applied", e.Summary)
	assert.Equal(t, 7, e.PullRequest)
}
