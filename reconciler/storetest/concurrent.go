package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
)

// testConcurrent runs many writers and readers at once (run it under -race) and checks nothing was lost.
func testConcurrent(t *testing.T, open Opener) {
	const workers, each = 16, 8
	s := newSession(t, open).store
	ctx := t.Context()

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seqs []uint64
	)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				name := fmt.Sprintf("w%02d-%02d", w, i)
				id := "run-" + name
				assert.NoError(t, s.PutStack(ctx, fullStack(name)))
				assert.NoError(t, s.StartRun(ctx, startedRun(id, "shared", i)))
				assert.NoError(t, s.FinishRun(ctx, fullRun(id, "shared", i)))
				seq, err := s.Enqueue(ctx, fullEvent(name, i))
				if assert.NoError(t, err) {
					mu.Lock()
					seqs = append(seqs, seq)
					mu.Unlock()
				}
				target := fmt.Sprintf("w%02d", w)
				assert.NoError(t, s.PutBranchPlan(ctx, fullPlan(target, name, i)))
				assert.NoError(t, s.PutBranchPlan(ctx, fullPlan("doomed", name, i)))
				assert.NoError(t, s.PutPull(ctx, fullPull(w*each+i+1)))
				assert.NoError(t, s.RecordMerge(ctx, reconciler.Revision(name), w*each+i+1))
				// Readers run alongside the writers.
				_, err = s.Stacks(ctx)
				assert.NoError(t, err)
				_, err = s.BranchPlans(ctx, target)
				assert.NoError(t, err)
				_, err = s.Outbox(ctx, 5)
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()

	stacks, err := s.Stacks(ctx)
	require.NoError(t, err)
	assert.Len(t, stacks, workers*each)

	inflight, err := s.InFlight(ctx)
	require.NoError(t, err)
	assert.Empty(t, inflight, "every run finished")
	runs, err := s.Runs(ctx, "shared", 1000)
	require.NoError(t, err)
	assert.Len(t, runs, historyLimit, "concurrent finishes trimmed to the limit")

	events, err := s.Outbox(ctx, 0x7fffffff)
	require.NoError(t, err)
	slices.Sort(seqs)
	assert.Len(t, slices.Compact(slices.Clone(seqs)), workers*each, "sequence numbers are unique")
	assert.Equal(t, seqs, eventSeqs(events), "outbox holds every event in sequence order")

	for w := range workers {
		plans, err := s.BranchPlans(ctx, fmt.Sprintf("w%02d", w))
		require.NoError(t, err)
		assert.Len(t, plans, each, "worker %d's plans", w)
	}
	pulls, err := s.Pulls(ctx)
	require.NoError(t, err)
	assert.Len(t, pulls, workers*each)
	n, err := s.MergeOf(ctx, "w03-04")
	require.NoError(t, err)
	assert.Equal(t, 3*each+4+1, n)
	testConcurrentDelete(t, s, workers, each)
}

// testConcurrentDelete deletes the "doomed" target while every worker's target gets one more plan:
// the deletion takes the doomed plans only.
func testConcurrentDelete(t *testing.T, s reconciler.Store, workers, each int) {
	ctx := t.Context()
	var wg sync.WaitGroup
	wg.Go(func() { assert.NoError(t, s.DeleteBranchPlans(ctx, "doomed")) })
	for w := range workers {
		wg.Go(func() {
			assert.NoError(t, s.PutBranchPlan(ctx, fullPlan(fmt.Sprintf("w%02d", w), "late", 1)))
		})
	}
	wg.Wait()
	doomed, err := s.BranchPlans(ctx, "doomed")
	require.NoError(t, err)
	assert.Empty(t, doomed)
	for w := range workers {
		plans, err := s.BranchPlans(ctx, fmt.Sprintf("w%02d", w))
		require.NoError(t, err)
		assert.Len(t, plans, each+1, "worker %d's plans", w)
	}
}
