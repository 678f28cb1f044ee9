package storetest

import (
	"bytes"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
)

func testValues(t *testing.T, open Opener) {
	t.Run("missing bucket and missing key are ErrNotFound", func(t *testing.T) {
		s := newSession(t, open).store
		_, err := s.Get(t.Context(), "cursors", "main")
		require.ErrorIs(t, err, reconciler.ErrNotFound, "missing bucket")
		require.NoError(t, s.Put(t.Context(), "cursors", "main", []byte("abc")))
		_, err = s.Get(t.Context(), "cursors", "other")
		require.ErrorIs(t, err, reconciler.ErrNotFound, "missing key")
	})

	t.Run("put, overwrite, get, delete", func(t *testing.T) {
		s := newSession(t, open).store
		require.NoError(t, s.Put(t.Context(), "prs", "42", []byte("first")))
		require.NoError(t, s.Put(t.Context(), "prs", "42", []byte("second")))
		got, err := s.Get(t.Context(), "prs", "42")
		require.NoError(t, err)
		assert.Equal(t, []byte("second"), got)

		require.NoError(t, s.Delete(t.Context(), "prs", "42"))
		_, err = s.Get(t.Context(), "prs", "42")
		require.ErrorIs(t, err, reconciler.ErrNotFound)
		require.NoError(t, s.Delete(t.Context(), "prs", "42"), "deleting a missing key")
		require.NoError(t, s.Delete(t.Context(), "nobucket", "x"), "deleting in a missing bucket")
	})

	t.Run("values are copies", func(t *testing.T) {
		s := newSession(t, open).store
		// Big enough that a store cannot keep it inline in some small structure it copies anyway.
		want := bytes.Repeat([]byte("value "), 1000)
		in := slices.Clone(want)
		require.NoError(t, s.Put(t.Context(), "b", "k", in))
		in[0] = 'X' // the caller reuses its buffer
		got, err := s.Get(t.Context(), "b", "k")
		require.NoError(t, err)
		assert.Equal(t, want, got, "Put keeps its own copy")
		got[0] = 'Y'
		again, err := s.Get(t.Context(), "b", "k")
		require.NoError(t, err)
		assert.Equal(t, want, again, "Get returns a copy")
		listed, err := s.List(t.Context(), "b")
		require.NoError(t, err)
		listed["k"][0] = 'Z'
		again, err = s.Get(t.Context(), "b", "k")
		require.NoError(t, err)
		assert.Equal(t, want, again, "List returns copies")
	})

	t.Run("list is complete and per bucket", func(t *testing.T) {
		s := newSession(t, open).store
		got, err := s.List(t.Context(), "prs")
		require.NoError(t, err, "a missing bucket lists empty")
		assert.Empty(t, got)

		want := map[string][]byte{"1": []byte("a"), "10": []byte("b"), "2": []byte("c"), "z": []byte("d")}
		for k, v := range want {
			require.NoError(t, s.Put(t.Context(), "prs", k, v))
		}
		require.NoError(t, s.Put(t.Context(), "cursors", "1", []byte("other bucket")))
		got, err = s.List(t.Context(), "prs")
		require.NoError(t, err)
		assert.Equal(t, want, got)

		v, err := s.Get(t.Context(), "cursors", "1")
		require.NoError(t, err)
		assert.Equal(t, []byte("other bucket"), v, "buckets do not share keys")
	})

	t.Run("named buckets do not touch the store's own records", func(t *testing.T) {
		s := newSession(t, open).store
		require.NoError(t, s.PutStack(t.Context(), fullStack("net")))
		for _, bucket := range []string{"stacks", "runs", "inflight", "outbox", "meta"} {
			require.NoError(t, s.Put(t.Context(), bucket, "net", []byte("not a stack")))
		}
		got, err := s.Stack(t.Context(), "net")
		require.NoError(t, err)
		assert.Equal(t, fullStack("net"), got)
		stacks, err := s.Stacks(t.Context())
		require.NoError(t, err)
		assert.Len(t, stacks, 1)
	})
}
