package reconciler

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestQueueDedupAndOrder(t *testing.T) {
	q := NewQueue[string]()
	q.Add("a")
	q.Add("b")
	q.Add("a")
	require.Equal(t, 2, q.Len())
	ctx := context.Background()
	k, ok := q.Get(ctx)
	require.True(t, ok)
	assert.Equal(t, "a", k)
	k, ok = q.Get(ctx)
	require.True(t, ok)
	assert.Equal(t, "b", k)
	assert.Equal(t, 0, q.Len())
}

func TestQueueReAddWhileProcessingRunsOnceMoreAfterDone(t *testing.T) {
	q := NewQueue[string]()
	ctx := context.Background()
	q.Add("a")
	k, _ := q.Get(ctx)
	q.Add("a")
	q.Add("a")
	assert.Equal(t, 0, q.Len(), "a key being processed is not handed out again")
	assert.True(t, q.Pending("a"))
	q.Done(k)
	assert.Equal(t, 1, q.Len(), "re-added keys run exactly once more")
	k, _ = q.Get(ctx)
	q.Done(k)
	assert.Equal(t, 0, q.Len())
	assert.False(t, q.Pending("a"))
}

func TestQueueNeverTwoWorkersOnOneKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := NewQueue[int]()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var active [4]atomic.Int32
		var overlap atomic.Bool
		var runs atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for {
					k, ok := q.Get(ctx)
					if !ok {
						return
					}
					if active[k].Add(1) > 1 {
						overlap.Store(true)
					}
					runs.Add(1)
					time.Sleep(time.Millisecond)
					active[k].Add(-1)
					q.Done(k)
				}
			})
		}
		for i := range 400 {
			q.Add(i % 4)
		}
		time.Sleep(time.Hour) // fake time: every worker is idle long before
		synctest.Wait()
		assert.Equal(t, 0, q.Len())
		for k := range 4 {
			assert.False(t, q.Processing(k))
		}
		q.ShutDown()
		wg.Wait()
		assert.False(t, overlap.Load(), "two workers held one key")
		assert.GreaterOrEqual(t, runs.Load(), int32(4))
	})
}

func TestQueueAddAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := NewQueue[string]()
		q.AddAfter("a", time.Minute)
		assert.Equal(t, 0, q.Len())
		assert.True(t, q.Pending("a"))
		time.Sleep(59 * time.Second)
		synctest.Wait()
		assert.Equal(t, 0, q.Len())
		time.Sleep(2 * time.Second)
		synctest.Wait()
		assert.Equal(t, 1, q.Len())
		q.ShutDown()
	})
}

func TestQueueGetReturnsOnShutdownAndCancel(t *testing.T) {
	q := NewQueue[string]()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan bool)
	go func() { _, ok := q.Get(ctx); done <- ok }()
	cancel()
	assert.False(t, <-done)

	go func() { _, ok := q.Get(context.Background()); done <- ok }()
	q.ShutDown()
	assert.False(t, <-done)
	q.Add("x")
	assert.Equal(t, 0, q.Len(), "a shut-down queue takes nothing")
}
