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
}
