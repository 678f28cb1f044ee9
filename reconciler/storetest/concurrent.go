package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
				assert.NoError(t, s.Put(ctx, "shared", name, []byte(name)))
				// Readers run alongside the writers.
				_, err = s.Stacks(ctx)
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

	values, err := s.List(ctx, "shared")
	require.NoError(t, err)
	assert.Len(t, values, workers*each)
}
