package storetest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
)

func testStacks(t *testing.T, open Opener) {
	t.Run("missing is ErrNotFound", func(t *testing.T) {
		s := newSession(t, open).store
		_, err := s.Stack(t.Context(), "nope")
		require.ErrorIs(t, err, reconciler.ErrNotFound)
	})

	t.Run("empty store lists nothing", func(t *testing.T) {
		s := newSession(t, open).store
		got, err := s.Stacks(t.Context())
		require.NoError(t, err)
		assert.Empty(t, got)
	})

	t.Run("put then get keeps every field", func(t *testing.T) {
		s := newSession(t, open).store
		want := fullStack("net")
		require.NoError(t, s.PutStack(t.Context(), want))
		got, err := s.Stack(t.Context(), "net")
		require.NoError(t, err)
		assert.Equal(t, want, got)
	})

	t.Run("put overwrites", func(t *testing.T) {
		s := newSession(t, open).store
		first := fullStack("net")
		require.NoError(t, s.PutStack(t.Context(), first))
		second := reconciler.StackState{Name: "net", Dir: "net", Workspace: "prod"}
		require.NoError(t, s.PutStack(t.Context(), second))
		got, err := s.Stack(t.Context(), "net")
		require.NoError(t, err)
		assert.Equal(t, second, got, "the second write replaces the first entirely")
	})

	t.Run("stacks are complete and sorted by name", func(t *testing.T) {
		s := newSession(t, open).store
		for _, name := range []string{"web", "app@prod", "net", "app", "db"} {
			require.NoError(t, s.PutStack(t.Context(), fullStack(name)))
		}
		got, err := s.Stacks(t.Context())
		require.NoError(t, err)
		names := make([]string, 0, len(got))
		for _, st := range got {
			names = append(names, st.Name)
		}
		assert.Equal(t, []string{"app", "app@prod", "db", "net", "web"}, names)
		assert.Equal(t, fullStack("db"), got[2], "listed states keep every field")
	})

	t.Run("put with events writes both", func(t *testing.T) {
		s := newSession(t, open).store
		st := fullStack("net")
		events := []reconciler.Event{{Kind: reconciler.EventDriftDetected, Stack: "net"}, {Kind: reconciler.EventDriftResolved, Stack: "net"}}
		require.NoError(t, s.PutStack(t.Context(), st, events...))
		got, err := s.Stack(t.Context(), "net")
		require.NoError(t, err)
		assert.Equal(t, st, got)
		out, err := s.Outbox(t.Context(), 0)
		require.NoError(t, err)
		require.Len(t, out, 2)
		assert.Equal(t, reconciler.EventDriftDetected, out[0].Kind)
		assert.Equal(t, reconciler.EventDriftResolved, out[1].Kind)
		assert.Less(t, out[0].Seq, out[1].Seq)
	})

	t.Run("a failed put queues no events", func(t *testing.T) {
		s := newSession(t, open).store
		err := s.PutStack(t.Context(), reconciler.StackState{}, reconciler.Event{Kind: reconciler.EventDriftDetected})
		require.Error(t, err, "a stack without a name is refused")
		out, err := s.Outbox(t.Context(), 0)
		require.NoError(t, err)
		assert.Empty(t, out, "the events went nowhere with the refused state")
	})
}
