package storetest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
)

func testPulls(t *testing.T, open Opener) {
	t.Run("missing is ErrNotFound, none listed", func(t *testing.T) {
		s := newSession(t, open).store
		_, err := s.Pull(t.Context(), 1)
		require.ErrorIs(t, err, reconciler.ErrNotFound)
		got, err := s.Pulls(t.Context())
		require.NoError(t, err)
		assert.Empty(t, got)
		require.NoError(t, s.PutPull(t.Context(), fullPull(10)))
		for _, n := range []int{1, 0, 100, 101, -10} {
			_, err = s.Pull(t.Context(), n)
			assert.ErrorIs(t, err, reconciler.ErrNotFound, "#%d", n)
		}
	})

	t.Run("put then get keeps every field, put overwrites entirely", func(t *testing.T) {
		s := newSession(t, open).store
		require.NoError(t, s.PutPull(t.Context(), fullPull(7)))
		got, err := s.Pull(t.Context(), 7)
		require.NoError(t, err)
		assert.Equal(t, fullPull(7), got)

		second := reconciler.PullRequest{Number: 7, HeadBranch: "feature", Head: "abababababababababababababababababababab", State: "open"}
		require.NoError(t, s.PutPull(t.Context(), second))
		got, err = s.Pull(t.Context(), 7)
		require.NoError(t, err)
		assert.Equal(t, second, got)
		all, err := s.Pulls(t.Context())
		require.NoError(t, err)
		assert.Equal(t, []reconciler.PullRequest{second}, all, "one record per number")
	})

	t.Run("pulls are complete and sorted by number, not as text", func(t *testing.T) {
		s := newSession(t, open).store
		for _, n := range []int{10, 9, 1, 100, 2, 11} {
			require.NoError(t, s.PutPull(t.Context(), fullPull(n)))
		}
		got, err := s.Pulls(t.Context())
		require.NoError(t, err)
		assert.Equal(t, []int{1, 2, 9, 10, 11, 100}, pullNumbers(got))
		assert.Equal(t, fullPull(9), got[2], "listed records keep every field")
	})

	t.Run("put refuses a number that is not positive", func(t *testing.T) {
		s := newSession(t, open).store
		assert.Error(t, s.PutPull(t.Context(), fullPull(0)))
		assert.Error(t, s.PutPull(t.Context(), fullPull(-3)))
		got, err := s.Pulls(t.Context())
		require.NoError(t, err)
		assert.Empty(t, got)
	})

	t.Run("delete removes that number only", func(t *testing.T) {
		s := newSession(t, open).store
		for _, n := range []int{1, 10, 11, 21} {
			require.NoError(t, s.PutPull(t.Context(), fullPull(n)))
		}
		require.NoError(t, s.DeletePull(t.Context(), 1))
		_, err := s.Pull(t.Context(), 1)
		require.ErrorIs(t, err, reconciler.ErrNotFound)
		got, err := s.Pulls(t.Context())
		require.NoError(t, err)
		assert.Equal(t, []int{10, 11, 21}, pullNumbers(got))
		require.NoError(t, s.DeletePull(t.Context(), 1), "deleting a missing record")
		require.NoError(t, s.DeletePull(t.Context(), 5), "deleting a number never recorded")
	})
}

func testMerges(t *testing.T, open Opener) {
	const (
		m1 = reconciler.Revision("1234567890123456789012345678901234567890")
		m2 = reconciler.Revision("1234567890123456789012345678901234567891")
	)
	t.Run("missing is ErrNotFound", func(t *testing.T) {
		s := newSession(t, open).store
		_, err := s.MergeOf(t.Context(), m1)
		require.ErrorIs(t, err, reconciler.ErrNotFound)
		require.NoError(t, s.RecordMerge(t.Context(), m1, 3))
		for _, rev := range []reconciler.Revision{m2, m1[:7], m1 + "0", ""} {
			_, err := s.MergeOf(t.Context(), rev)
			assert.ErrorIs(t, err, reconciler.ErrNotFound, "%q: only the whole commit is its merge", rev)
		}
	})

	t.Run("record, read, replace", func(t *testing.T) {
		s := newSession(t, open).store
		require.NoError(t, s.RecordMerge(t.Context(), m1, 3))
		require.NoError(t, s.RecordMerge(t.Context(), m2, 30))
		n, err := s.MergeOf(t.Context(), m1)
		require.NoError(t, err)
		assert.Equal(t, 3, n)
		n, err = s.MergeOf(t.Context(), m2)
		require.NoError(t, err)
		assert.Equal(t, 30, n)

		require.NoError(t, s.RecordMerge(t.Context(), m1, 4))
		n, err = s.MergeOf(t.Context(), m1)
		require.NoError(t, err)
		assert.Equal(t, 4, n, "a later record of the commit replaces the first")
	})

	t.Run("record refuses an empty commit or a number that is not positive", func(t *testing.T) {
		s := newSession(t, open).store
		assert.Error(t, s.RecordMerge(t.Context(), "", 3))
		assert.Error(t, s.RecordMerge(t.Context(), m1, 0))
		assert.Error(t, s.RecordMerge(t.Context(), m1, -1))
		_, err := s.MergeOf(t.Context(), m1)
		assert.ErrorIs(t, err, reconciler.ErrNotFound)
	})
}

// testKinds checks that records of different kinds under the same names stay apart: a stack, a
// target, a pull request and a merge commit may all be called "1" or "pr:1".
func testKinds(t *testing.T, open Opener) {
	s := newSession(t, open).store
	ctx := t.Context()
	require.NoError(t, s.PutStack(ctx, fullStack("pr:1")))
	require.NoError(t, s.PutStack(ctx, fullStack("1")))
	require.NoError(t, s.PutBranchPlan(ctx, fullPlan("pr:1", "pr:1", 1)))
	require.NoError(t, s.PutBranchPlan(ctx, fullPlan("1", "1", 1)))
	require.NoError(t, s.PutPull(ctx, fullPull(1)))
	require.NoError(t, s.RecordMerge(ctx, "1", 1))
	require.NoError(t, s.RecordMerge(ctx, "pr:1", 1))

	require.NoError(t, s.DeleteBranchPlans(ctx, "pr:1"))
	pr, err := s.Pull(ctx, 1)
	require.NoError(t, err, "deleting a pull request's plans leaves its record to DeletePull")
	assert.Equal(t, fullPull(1), pr)
	require.NoError(t, s.DeletePull(ctx, 1))

	stacks, err := s.Stacks(ctx)
	require.NoError(t, err)
	assert.Equal(t, []reconciler.StackState{fullStack("1"), fullStack("pr:1")}, stacks)
	plans, err := s.BranchPlans(ctx, "1")
	require.NoError(t, err)
	assert.Equal(t, []reconciler.BranchPlan{fullPlan("1", "1", 1)}, plans)
	for _, rev := range []reconciler.Revision{"1", "pr:1"} {
		n, err := s.MergeOf(ctx, rev)
		require.NoError(t, err)
		assert.Equal(t, 1, n, "merge records outlive the pull request's")
	}
	runs, err := s.Runs(ctx, "pr:1", 10)
	require.NoError(t, err)
	assert.Empty(t, runs)
	events, err := s.Outbox(ctx, 0)
	require.NoError(t, err)
	assert.Empty(t, events)
}

// testPing checks that Ping answers while the store is open and fails once it is closed.
func testPing(t *testing.T, open Opener) {
	sess := newSession(t, open)
	require.NoError(t, sess.store.Ping(t.Context()))
	s := sess.store
	require.NoError(t, s.Close())
	sess.store = nil // closed once, here
	assert.Error(t, s.Ping(t.Context()), "a closed store does not answer")
}

// fullPull sets every field of a pull request record.
func fullPull(n int) reconciler.PullRequest {
	return reconciler.PullRequest{
		Number:      n,
		Title:       "change the network",
		HeadBranch:  "feature/net",
		Head:        "abcdefabcdefabcdefabcdefabcdefabcdefabcd",
		Base:        "main",
		Fork:        true,
		State:       "closed",
		Merged:      true,
		MergeCommit: "0123456789012345678901234567890123456789",
	}
}

// pullNumbers lists the numbers of pull requests, in order.
func pullNumbers(pulls []reconciler.PullRequest) []int {
	out := make([]int, 0, len(pulls))
	for _, pr := range pulls {
		out = append(out, pr.Number)
	}
	return out
}
