package storetest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
)

func testOutbox(t *testing.T, open Opener) {
	t.Run("empty at first", func(t *testing.T) {
		s := newSession(t, open).store
		got, err := s.Outbox(t.Context(), 10)
		require.NoError(t, err)
		assert.Empty(t, got)
	})

	t.Run("enqueue order, seq, limit and ack", func(t *testing.T) {
		s := newSession(t, open).store
		var seqs []uint64
		for i := range 5 {
			seq, err := s.Enqueue(t.Context(), fullEvent("net", i))
			require.NoError(t, err)
			if len(seqs) > 0 {
				assert.Greater(t, seq, seqs[len(seqs)-1], "sequence numbers increase")
			}
			seqs = append(seqs, seq)
		}

		got, err := s.Outbox(t.Context(), 3)
		require.NoError(t, err)
		require.Len(t, got, 3, "at most limit")
		for i, e := range got {
			want := fullEvent("net", i)
			want.Seq = seqs[i]
			assert.Equal(t, want, e, "event %d comes back whole, with Seq set", i)
		}

		require.NoError(t, s.Ack(t.Context(), seqs[1]))
		require.NoError(t, s.Ack(t.Context(), seqs[3]))
		got, err = s.Outbox(t.Context(), 10)
		require.NoError(t, err)
		assert.Equal(t, []uint64{seqs[0], seqs[2], seqs[4]}, eventSeqs(got), "acked events are gone, order kept")
	})

	t.Run("ack twice is not an error", func(t *testing.T) {
		s := newSession(t, open).store
		seq, err := s.Enqueue(t.Context(), fullEvent("net", 1))
		require.NoError(t, err)
		require.NoError(t, s.Ack(t.Context(), seq))
		require.NoError(t, s.Ack(t.Context(), seq), "a redelivered ack must be harmless")
		got, err := s.Outbox(t.Context(), 10)
		require.NoError(t, err)
		assert.Empty(t, got)
	})

	t.Run("seq never reused after ack and reopen", func(t *testing.T) {
		sess := newSession(t, open)
		first, err := sess.store.Enqueue(t.Context(), fullEvent("net", 1))
		require.NoError(t, err)
		require.NoError(t, sess.store.Ack(t.Context(), first))

		s := sess.reopen()
		second, err := s.Enqueue(t.Context(), fullEvent("net", 2))
		require.NoError(t, err)
		assert.Greater(t, second, first, "a notifier that remembers acked seqs must never see one again")
	})
}

func eventSeqs(events []reconciler.Event) []uint64 {
	out := make([]uint64, 0, len(events))
	for _, e := range events {
		out = append(out, e.Seq)
	}
	return out
}
