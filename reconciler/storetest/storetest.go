// Package storetest is a conformance suite for reconciler.Store implementations. Every store runs it
// from its own tests:
//
//	func TestStore(t *testing.T) {
//		storetest.TestStore(t, func(t *testing.T, dir string) reconciler.Store {
//			s, err := boltstore.Open(filepath.Join(dir, "trueup.db"), boltstore.Options{})
//			require.NoError(t, err)
//			return s
//		})
//	}
package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
)

// Opener opens a store over the state kept under dir, a fresh temporary directory per test. Opening the
// same dir again after Close must see everything written before (a store kept elsewhere, such as a
// database, can derive its name from dir). The suite closes every store it opens, exactly once.
type Opener func(t *testing.T, dir string) reconciler.Store

// TestStore runs the whole suite against the stores open returns.
func TestStore(t *testing.T, open Opener) {
	t.Run("stacks", func(t *testing.T) { testStacks(t, open) })
	t.Run("runs", func(t *testing.T) { testRuns(t, open) })
	t.Run("outbox", func(t *testing.T) { testOutbox(t, open) })
	t.Run("plans", func(t *testing.T) { testPlans(t, open) })
	t.Run("pulls", func(t *testing.T) { testPulls(t, open) })
	t.Run("merges", func(t *testing.T) { testMerges(t, open) })
	t.Run("kinds", func(t *testing.T) { testKinds(t, open) })
	t.Run("ping", func(t *testing.T) { testPing(t, open) })
	t.Run("reopen", func(t *testing.T) { testReopen(t, open) })
	t.Run("canceled", func(t *testing.T) { testCanceled(t, open) })
	t.Run("concurrent", func(t *testing.T) { testConcurrent(t, open) })
}

// session is one store over one dir, which a test can close and open again.
type session struct {
	t     *testing.T
	open  Opener
	dir   string
	store reconciler.Store
}

// newSession opens a store over a fresh dir and closes it when the test ends.
func newSession(t *testing.T, open Opener) *session {
	t.Helper()
	s := &session{t: t, open: open, dir: t.TempDir()}
	s.store = open(t, s.dir)
	require.NotNil(t, s.store, "open returned no store")
	// Registered after TempDir, so it runs before the directory is removed.
	t.Cleanup(func() {
		if s.store != nil {
			assert.NoError(t, s.store.Close(), "close store")
		}
	})
	return s
}

// reopen closes the store, as a stop or crash would, and opens the same dir again.
func (s *session) reopen() reconciler.Store {
	s.t.Helper()
	require.NoError(s.t, s.store.Close(), "close store")
	s.store = nil
	s.store = s.open(s.t, s.dir)
	require.NotNil(s.t, s.store, "open returned no store")
	return s.store
}

// base is a fixed, UTC, whole-second time so values survive any encoding unchanged.
var base = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

// at is base plus n minutes.
func at(n int) time.Time { return base.Add(time.Duration(n) * time.Minute) }

// fullStack sets every field, so a store that drops one fails the round trip.
func fullStack(name string) reconciler.StackState {
	changes := []reconciler.ResourceChange{{Address: "local_file.a", Action: "update"}}
	return reconciler.StackState{
		Name:       name,
		Dir:        "stacks/" + name,
		Workspace:  "default",
		AppliedRev: "1111111111111111111111111111111111111111",
		SyncedRev:  "2222222222222222222222222222222222222222",
		LastRun:    ptr(fullRun("run-last", name, 1)),
		Failures:   2,
		RetryAt:    at(30),
		Removed:    true,
		Drift: reconciler.DriftState{
			Drifted:            true,
			Resources:          changes,
			Since:              at(2),
			LastChecked:        at(3),
			CorrectionFailures: 1,
			HeldReason:         "destroys resources",
		},
		Held: &reconciler.Hold{
			Revision: "3333333333333333333333333333333333333333",
			Reason:   "plan differs from the reviewed one",
			Changes:  changes,
			Since:    at(4),
		},
		ApprovedRev: "4444444444444444444444444444444444444444",
		Hook: &reconciler.HookResult{ // every field set, whatever they would mean together
			Revision: "1111111111111111111111111111111111111111", Time: at(5), OK: true, Error: "hook: exit status 2",
		},
	}
}

// fullRun is a finished run with every field set, started n minutes after base.
func fullRun(id, stack string, n int) reconciler.RunRecord {
	return reconciler.RunRecord{
		ID:        id,
		Stack:     stack,
		Branch:    "main",
		Kind:      reconciler.RunApply,
		Revision:  "5555555555555555555555555555555555555555",
		Started:   at(n),
		Finished:  at(n + 1),
		Result:    reconciler.ResultFailed,
		Error:     "apply: exit status 1",
		Transient: true,
		Changes:   []reconciler.ResourceChange{{Address: "local_file.b", Action: "create"}},
		Drift:     []reconciler.ResourceDrift{{Address: "local_file.c", Change: "deleted"}},
	}
}

// startedRun is a run in flight, started n minutes after base.
func startedRun(id, stack string, n int) reconciler.RunRecord {
	return reconciler.RunRecord{
		ID:       id,
		Stack:    stack,
		Branch:   "main",
		Kind:     reconciler.RunApply,
		Revision: "6666666666666666666666666666666666666666",
		Started:  at(n),
		Result:   reconciler.ResultRunning,
	}
}

// fullEvent sets every field but Seq, which the store assigns.
func fullEvent(stack string, n int) reconciler.Event {
	return reconciler.Event{
		Kind:        reconciler.EventDriftDetected,
		Stack:       stack,
		Revision:    "7777777777777777777777777777777777777777",
		Time:        at(n),
		Summary:     "drift in " + stack,
		Action:      "corrected",
		Reason:      "none",
		Drift:       []reconciler.ResourceDrift{{Address: "local_file.d", Change: "updated"}},
		Changes:     []reconciler.ResourceChange{{Address: "local_file.d", Action: "update"}},
		Error:       "boom",
		PullRequest: n,
	}
}

func ptr[T any](v T) *T { return &v }

// ids lists the IDs of runs, in order.
func ids(runs []reconciler.RunRecord) []string {
	out := make([]string, 0, len(runs))
	for _, r := range runs {
		out = append(out, r.ID)
	}
	return out
}
