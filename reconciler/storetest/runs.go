package storetest

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
)

// historyLimit is how many finished runs a store keeps per stack (reconciler.Store's contract).
const historyLimit = 50

func testRuns(t *testing.T, open Opener) {
	t.Run("nothing in flight or finished at first", func(t *testing.T) {
		s := newSession(t, open).store
		inflight, err := s.InFlight(t.Context())
		require.NoError(t, err)
		assert.Empty(t, inflight)
		runs, err := s.Runs(t.Context(), "net", 10)
		require.NoError(t, err, "a stack without history is not an error")
		assert.Empty(t, runs)
	})

	t.Run("in flight oldest first, then by id", func(t *testing.T) {
		s := newSession(t, open).store
		for _, r := range []reconciler.RunRecord{
			startedRun("c", "net", 5),
			startedRun("b", "web", 1),
			startedRun("z", "db", 3),
			startedRun("a", "app", 3),
		} {
			require.NoError(t, s.StartRun(t.Context(), r))
		}
		got, err := s.InFlight(t.Context())
		require.NoError(t, err)
		assert.Equal(t, []string{"b", "a", "z", "c"}, ids(got))
		assert.Equal(t, startedRun("c", "net", 5), got[3], "in-flight runs keep every field")
	})

	t.Run("finish moves a run from in flight to history", func(t *testing.T) {
		s := newSession(t, open).store
		require.NoError(t, s.StartRun(t.Context(), startedRun("r1", "net", 1)))
		require.NoError(t, s.StartRun(t.Context(), startedRun("r2", "net", 2)))

		done := fullRun("r1", "net", 1)
		require.NoError(t, s.FinishRun(t.Context(), done))

		inflight, err := s.InFlight(t.Context())
		require.NoError(t, err)
		assert.Equal(t, []string{"r2"}, ids(inflight))
		runs, err := s.Runs(t.Context(), "net", 10)
		require.NoError(t, err)
		require.Len(t, runs, 1)
		assert.Equal(t, done, runs[0], "the finished record is stored as given")
	})

	t.Run("history is newest first, per stack, at most limit", func(t *testing.T) {
		s := newSession(t, open).store
		for i := range 5 {
			require.NoError(t, s.FinishRun(t.Context(), fullRun(fmt.Sprintf("net-%d", i), "net", i)))
			require.NoError(t, s.FinishRun(t.Context(), fullRun(fmt.Sprintf("web-%d", i), "web", i)))
		}
		runs, err := s.Runs(t.Context(), "net", 3)
		require.NoError(t, err)
		assert.Equal(t, []string{"net-4", "net-3", "net-2"}, ids(runs))
		runs, err = s.Runs(t.Context(), "web", 10)
		require.NoError(t, err)
		assert.Equal(t, []string{"web-4", "web-3", "web-2", "web-1", "web-0"}, ids(runs))
	})

	t.Run("history keeps the newest 50", func(t *testing.T) {
		s := newSession(t, open).store
		const total = historyLimit + 13
		for i := range total {
			require.NoError(t, s.FinishRun(t.Context(), fullRun(fmt.Sprintf("run-%03d", i), "net", i)))
		}
		runs, err := s.Runs(t.Context(), "net", 1000)
		require.NoError(t, err)
		require.Len(t, runs, historyLimit)
		assert.Equal(t, fmt.Sprintf("run-%03d", total-1), runs[0].ID, "newest kept")
		assert.Equal(t, fmt.Sprintf("run-%03d", total-historyLimit), runs[historyLimit-1].ID, "oldest kept")
	})

	t.Run("in flight survives a crash", func(t *testing.T) {
		sess := newSession(t, open)
		r := startedRun("r1", "net", 1)
		require.NoError(t, sess.store.StartRun(t.Context(), r))

		s := sess.reopen() // closed without FinishRun: the run was interrupted
		got, err := s.InFlight(t.Context())
		require.NoError(t, err)
		assert.Equal(t, []reconciler.RunRecord{r}, got)

		interrupted := r
		interrupted.Result = reconciler.ResultInterrupted
		interrupted.Finished = at(9)
		require.NoError(t, s.FinishRun(t.Context(), interrupted))
		got, err = s.InFlight(t.Context())
		require.NoError(t, err)
		assert.Empty(t, got, "recording the interruption ends the run")
		runs, err := s.Runs(t.Context(), "net", 10)
		require.NoError(t, err)
		assert.Equal(t, []reconciler.RunRecord{interrupted}, runs)
	})
}
