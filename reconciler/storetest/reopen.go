package storetest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
)

// testReopen writes through every method, closes, opens the same dir and reads it all back.
func testReopen(t *testing.T, open Opener) {
	sess := newSession(t, open)
	ctx := t.Context()
	s := sess.store
	require.NoError(t, s.PutStack(ctx, fullStack("net")))
	require.NoError(t, s.StartRun(ctx, startedRun("live", "net", 2)))
	require.NoError(t, s.StartRun(ctx, startedRun("done", "net", 1)))
	require.NoError(t, s.FinishRun(ctx, fullRun("done", "net", 1)))
	seq, err := s.Enqueue(ctx, fullEvent("net", 1))
	require.NoError(t, err)
	require.NoError(t, s.PutBranchPlan(ctx, fullPlan("pr:1", "net", 1)))
	require.NoError(t, s.PutBranchPlan(ctx, fullPlan("pr:1", "web", 2)))
	require.NoError(t, s.PutBranchPlan(ctx, fullPlan("gone", "net", 3)))
	require.NoError(t, s.DeleteBranchPlans(ctx, "gone"))
	require.NoError(t, s.PutPull(ctx, fullPull(1)))
	require.NoError(t, s.PutPull(ctx, fullPull(2)))
	require.NoError(t, s.DeletePull(ctx, 2))
	require.NoError(t, s.RecordMerge(ctx, "m1", 1))

	s = sess.reopen()
	st, err := s.Stack(ctx, "net")
	require.NoError(t, err)
	assert.Equal(t, fullStack("net"), st)
	inflight, err := s.InFlight(ctx)
	require.NoError(t, err)
	assert.Equal(t, []reconciler.RunRecord{startedRun("live", "net", 2)}, inflight)
	runs, err := s.Runs(ctx, "net", 10)
	require.NoError(t, err)
	assert.Equal(t, []reconciler.RunRecord{fullRun("done", "net", 1)}, runs)
	events, err := s.Outbox(ctx, 10)
	require.NoError(t, err)
	want := fullEvent("net", 1)
	want.Seq = seq
	assert.Equal(t, []reconciler.Event{want}, events)
	plans, err := s.BranchPlans(ctx, "pr:1")
	require.NoError(t, err)
	assert.Equal(t, []reconciler.BranchPlan{fullPlan("pr:1", "net", 1), fullPlan("pr:1", "web", 2)}, plans)
	plans, err = s.BranchPlans(ctx, "gone")
	require.NoError(t, err)
	assert.Empty(t, plans, "a deletion is durable too")
	pulls, err := s.Pulls(ctx)
	require.NoError(t, err)
	assert.Equal(t, []reconciler.PullRequest{fullPull(1)}, pulls)
	n, err := s.MergeOf(ctx, "m1")
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	require.NoError(t, s.Ping(ctx))
}

// testCanceled checks that every method refuses a canceled context, and that a refused write did not happen.
func testCanceled(t *testing.T, open Opener) {
	s := newSession(t, open).store
	bg := t.Context()
	// Records a canceled delete must leave in place.
	require.NoError(t, s.PutBranchPlan(bg, fullPlan("keep", "net", 1)))
	require.NoError(t, s.PutPull(bg, fullPull(2)))
	ctx, cancel := context.WithCancel(bg)
	cancel()

	calls := map[string]func() error{
		"Stack":     func() error { _, err := s.Stack(ctx, "net"); return err },
		"Stacks":    func() error { _, err := s.Stacks(ctx); return err },
		"PutStack":  func() error { return s.PutStack(ctx, fullStack("net")) },
		"StartRun":  func() error { return s.StartRun(ctx, startedRun("r", "net", 1)) },
		"FinishRun": func() error { return s.FinishRun(ctx, fullRun("f", "net", 1)) },
		"InFlight":  func() error { _, err := s.InFlight(ctx); return err },
		"Runs":      func() error { _, err := s.Runs(ctx, "net", 1); return err },
		"Enqueue":   func() error { _, err := s.Enqueue(ctx, fullEvent("net", 1)); return err },
		"Outbox":    func() error { _, err := s.Outbox(ctx, 1); return err },
		"Ack":       func() error { return s.Ack(ctx, 1) },

		"BranchPlan":        func() error { _, err := s.BranchPlan(ctx, "keep", "net"); return err },
		"BranchPlans":       func() error { _, err := s.BranchPlans(ctx, "keep"); return err },
		"PutBranchPlan":     func() error { return s.PutBranchPlan(ctx, fullPlan("main", "net", 1)) },
		"DeleteBranchPlans": func() error { return s.DeleteBranchPlans(ctx, "keep") },
		"PutPull":           func() error { return s.PutPull(ctx, fullPull(1)) },
		"Pull":              func() error { _, err := s.Pull(ctx, 2); return err },
		"Pulls":             func() error { _, err := s.Pulls(ctx); return err },
		"DeletePull":        func() error { return s.DeletePull(ctx, 2) },
		"RecordMerge":       func() error { return s.RecordMerge(ctx, "m1", 1) },
		"MergeOf":           func() error { _, err := s.MergeOf(ctx, "m1"); return err },
		"Ping":              func() error { return s.Ping(ctx) },
	}
	for name, call := range calls {
		assert.ErrorIs(t, call(), context.Canceled, name)
	}

	_, err := s.Stack(bg, "net")
	assert.ErrorIs(t, err, reconciler.ErrNotFound, "canceled PutStack wrote nothing")
	inflight, err := s.InFlight(bg)
	require.NoError(t, err)
	assert.Empty(t, inflight, "canceled StartRun wrote nothing")
	runs, err := s.Runs(bg, "net", 10)
	require.NoError(t, err)
	assert.Empty(t, runs, "canceled FinishRun wrote nothing")
	events, err := s.Outbox(bg, 10)
	require.NoError(t, err)
	assert.Empty(t, events, "canceled Enqueue wrote nothing")
	_, err = s.BranchPlan(bg, "main", "net")
	assert.ErrorIs(t, err, reconciler.ErrNotFound, "canceled PutBranchPlan wrote nothing")
	_, err = s.Pull(bg, 1)
	assert.ErrorIs(t, err, reconciler.ErrNotFound, "canceled PutPull wrote nothing")
	_, err = s.MergeOf(bg, "m1")
	assert.ErrorIs(t, err, reconciler.ErrNotFound, "canceled RecordMerge wrote nothing")
	kept, err := s.BranchPlans(bg, "keep")
	require.NoError(t, err)
	assert.Equal(t, []reconciler.BranchPlan{fullPlan("keep", "net", 1)}, kept, "canceled DeleteBranchPlans deleted nothing")
	_, err = s.Pull(bg, 2)
	assert.NoError(t, err, "canceled DeletePull deleted nothing")
}
