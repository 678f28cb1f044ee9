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
	require.NoError(t, s.Put(ctx, "cursors", "main", []byte("abc")))

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
	v, err := s.Get(ctx, "cursors", "main")
	require.NoError(t, err)
	assert.Equal(t, []byte("abc"), v)
}

// testCanceled checks that every method refuses a canceled context, and that a refused write did not happen.
func testCanceled(t *testing.T, open Opener) {
	s := newSession(t, open).store
	ctx, cancel := context.WithCancel(t.Context())
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
		"Get":       func() error { _, err := s.Get(ctx, "b", "k"); return err },
		"Put":       func() error { return s.Put(ctx, "b", "k", []byte("v")) },
		"Delete":    func() error { return s.Delete(ctx, "b", "k") },
		"List":      func() error { _, err := s.List(ctx, "b"); return err },
	}
	for name, call := range calls {
		assert.ErrorIs(t, call(), context.Canceled, name)
	}

	bg := t.Context()
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
	_, err = s.Get(bg, "b", "k")
	assert.ErrorIs(t, err, reconciler.ErrNotFound, "canceled Put wrote nothing")
}
