package reconciler

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mustGet[K comparable](t *testing.T, q *Queue[K]) K {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Get returns at once when a key is ready; false means none was
	var (
		k  K
		ok bool
	)
	// A cancelled context still hands out a ready key: Get checks the queue before waiting.
	k, ok = q.Get(ctx)
	require.True(t, ok, "no key ready")
	return k
}

func noneReady[K comparable](t *testing.T, q *Queue[K]) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	k, ok := q.Get(ctx)
	require.False(t, ok, "got %v, want no key ready", k)
}

func TestPriorityMergeQueuedBehind200DriftChecksIsNextGet(t *testing.T) {
	q := newKeyQueue("main", 0)
	for i := range 200 {
		q.AddPriority(Key{Stack: fmt.Sprintf("s%03d", i), Branch: "main"}, PriorityDrift)
	}
	// Two workers are busy with the sweep.
	first, second := mustGet(t, q), mustGet(t, q)
	assert.Equal(t, "s000", first.Stack)
	assert.Equal(t, "s001", second.Stack)

	// main moves: observeHead queues the merged stack (not yet queued) and a stack whose drift
	// check is already waiting; both are applies now.
	merged := Key{Stack: "merged", Branch: "main"}
	q.Add(merged)
	q.Add(Key{Stack: "s150", Branch: "main"})
	assert.Equal(t, merged, mustGet(t, q), "the merge's apply is the next key handed out")
	assert.Equal(t, Key{Stack: "s150", Branch: "main"}, mustGet(t, q), "a queued drift check raised to an apply goes next")
	assert.Equal(t, "s002", mustGet(t, q).Stack, "then the sweep goes on in order")
	assert.Equal(t, 196, q.Len())
}

func TestPriorityAppliesThenPlansThenDrift(t *testing.T) {
	q := newKeyQueue("main", 0)
	q.AddPriority(Key{Stack: "d1", Branch: "main"}, PriorityDrift)
	q.Add(Key{Stack: "p1", Branch: "pr:7"})
	q.AddPriority(Key{Stack: "d2", Branch: "main"}, PriorityDrift)
	q.Add(Key{Stack: "b1", Branch: "feature"})
	q.Add(Key{Stack: "a1", Branch: "main"})
	q.Add(Key{Stack: "p2", Branch: "pr:7"})
	q.Add(Key{Stack: "a2", Branch: "main"})

	var got []string
	for q.Len() > 0 {
		got = append(got, mustGet(t, q).Stack)
	}
	assert.Equal(t, []string{"a1", "a2", "p1", "b1", "p2", "d1", "d2"}, got,
		"applies first, then branch and pull request plans, then drift checks; FIFO within each")
}

func TestPriorityDefaultWithoutOptionsIsFIFO(t *testing.T) {
	q := NewQueue[string]()
	for _, k := range []string{"c", "a", "b"} {
		q.Add(k)
	}
	p, ok := q.PriorityOf("a")
	require.True(t, ok)
	assert.Equal(t, PriorityPlan, p)
	assert.Equal(t, "c", mustGet(t, q))
	assert.Equal(t, "a", mustGet(t, q))
	assert.Equal(t, "b", mustGet(t, q))
}

func TestPriorityKeyKeepsTheHighestItWasAddedWith(t *testing.T) {
	t.Run("queued", func(t *testing.T) {
		q := NewQueue[string]()
		q.AddPriority("a", PriorityApply)
		q.AddPriority("a", PriorityDrift)
		p, _ := q.PriorityOf("a")
		assert.Equal(t, PriorityApply, p, "a lower Add does not lower it")
		q.AddPriority("b", PriorityDrift)
		q.AddPriority("c", PriorityPlan)
		q.AddPriority("b", PriorityApply)
		p, _ = q.PriorityOf("b")
		assert.Equal(t, PriorityApply, p, "a higher Add raises it")
		assert.Equal(t, 3, q.Len(), "still queued once")
		assert.Equal(t, "a", mustGet(t, q))
		assert.Equal(t, "b", mustGet(t, q))
		assert.Equal(t, "c", mustGet(t, q))
		noneReady(t, q)
	})
	t.Run("re-added while processing", func(t *testing.T) {
		q := NewQueue[string]()
		q.AddPriority("a", PriorityDrift)
		k := mustGet(t, q)
		q.AddPriority("a", PriorityApply)
		q.AddPriority("a", PriorityDrift)
		q.AddPriority("x", PriorityPlan)
		p, ok := q.PriorityOf("a")
		require.True(t, ok)
		assert.Equal(t, PriorityApply, p)
		q.Done(k)
		assert.Equal(t, "a", mustGet(t, q), "runs again once, at the highest priority asked for")
		assert.Equal(t, "x", mustGet(t, q))
	})
	t.Run("scheduled", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			q := NewQueue[string]()
			q.AddAfterPriority("a", PriorityApply, time.Minute)
			q.AddAfterPriority("a", PriorityDrift, time.Hour)
			p, ok := q.PriorityOf("a")
			require.True(t, ok)
			assert.Equal(t, PriorityApply, p, "a replacing AddAfter keeps the higher priority")
			q.AddPriority("b", PriorityPlan)
			time.Sleep(30 * time.Minute)
			synctest.Wait()
			assert.Equal(t, 1, q.Len(), "the replacing AddAfter's delay holds")
			time.Sleep(time.Hour)
			synctest.Wait()
			assert.Equal(t, "a", mustGet(t, q))
			assert.Equal(t, "b", mustGet(t, q))

			q.AddAfterPriority("c", PriorityApply, time.Minute)
			q.AddPriority("c", PriorityDrift) // an Add replaces the scheduled run
			q.AddPriority("d", PriorityPlan)
			assert.Equal(t, "c", mustGet(t, q), "and keeps its priority")
			q.ShutDown()
		})
	})
}

// TestPriorityDriftIsNotStarved keeps applies arriving faster than one worker takes them: every
// drift check still runs, each within a bounded number of Gets.
func TestPriorityDriftIsNotStarved(t *testing.T) {
	q := newKeyQueue("main", 0)
	const drifts = 50
	for i := range drifts {
		q.AddPriority(Key{Stack: fmt.Sprintf("d%02d", i), Branch: "main"}, PriorityDrift)
	}
	var order []string
	applies := 0
	gets := 0
	for len(order) < drifts {
		require.Less(t, gets, drifts*(StarvationBound+1), "drift checks starve")
		for range 2 {
			q.Add(Key{Stack: fmt.Sprintf("a%04d", applies), Branch: "main"})
			applies++
		}
		k := mustGet(t, q)
		gets++
		if k.Stack[0] == 'd' {
			order = append(order, k.Stack)
			assert.Equal(t, 0, gets%(StarvationBound+1), "a drift check runs after %d applies in a row", StarvationBound)
		}
		q.Done(k)
	}
	assert.Greater(t, q.Len(), drifts, "applies kept arriving faster than they ran")
	for i, s := range order {
		assert.Equal(t, fmt.Sprintf("d%02d", i), s, "the oldest drift check goes first")
	}
}

func TestPriorityPlansAndDriftBothProgressUnderApplies(t *testing.T) {
	q := newKeyQueue("main", 0)
	for i := range 20 {
		q.AddPriority(Key{Stack: fmt.Sprintf("d%02d", i), Branch: "main"}, PriorityDrift)
		q.Add(Key{Stack: fmt.Sprintf("p%02d", i), Branch: "pr:1"})
	}
	last := map[Priority]int{}
	maxGap := map[Priority]int{}
	for get := 1; get <= 400; get++ {
		q.Add(Key{Stack: fmt.Sprintf("a%04d", get), Branch: "main"})
		k := mustGet(t, q)
		p := PriorityApply
		switch k.Stack[0] {
		case 'd':
			p = PriorityDrift
		case 'p':
			p = PriorityPlan
		}
		if p != PriorityApply {
			maxGap[p] = max(maxGap[p], get-last[p])
			last[p] = get
		}
		q.Done(k)
	}
	// Drift, the lowest, is passed over by at most StarvationBound Gets; a plan also by up to two
	// drift checks handed out for their own starvation.
	assert.LessOrEqual(t, maxGap[PriorityDrift], StarvationBound+1, "drift waits a bounded number of Gets")
	assert.LessOrEqual(t, maxGap[PriorityPlan], StarvationBound+3, "plans wait a bounded number of Gets")
	assert.Positive(t, maxGap[PriorityDrift])
	_, ok := q.PriorityOf(Key{Stack: "d19", Branch: "main"})
	assert.False(t, ok, "every drift check ran")
	_, ok = q.PriorityOf(Key{Stack: "p19", Branch: "pr:1"})
	assert.False(t, ok, "every plan ran")
}

func TestQueueGroupLimitInterleavesPullRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newKeyQueue("main", 0)
		q.SetGroupLimit(2)
		for i := range 500 {
			q.Add(Key{Stack: fmt.Sprintf("s%03d", i), Branch: "pr:1"})
		}
		for i := range 3 {
			q.Add(Key{Stack: fmt.Sprintf("t%d", i), Branch: "pr:2"})
		}
		ctx := context.Background()
		got := func() Key { k, ok := q.Get(ctx); require.True(t, ok); return k }
		a, b := got(), got()
		assert.Equal(t, "pr:1", a.Branch)
		assert.Equal(t, "pr:1", b.Branch)
		c, d := got(), got()
		assert.Equal(t, Key{Stack: "t0", Branch: "pr:2"}, c, "pr:2 runs while pr:1 has 2 running")
		assert.Equal(t, Key{Stack: "t1", Branch: "pr:2"}, d)

		// Both groups are at their limit: Get waits, and an apply still runs.
		q.Add(Key{Stack: "merged", Branch: "main"})
		assert.Equal(t, Key{Stack: "merged", Branch: "main"}, got(), "applies are not limited")
		res := make(chan Key, 1)
		go func() { k, _ := q.Get(ctx); res <- k }()
		synctest.Wait()
		select {
		case k := <-res:
			t.Fatalf("Get handed out %v while both groups are at their limit", k)
		default:
		}
		q.Done(a) // frees a pr:1 slot: the oldest waiting pr:1 key is older than t2
		synctest.Wait()
		select {
		case k := <-res:
			assert.Equal(t, Key{Stack: "s002", Branch: "pr:1"}, k)
		default:
			t.Fatal("Done did not wake the waiting Get")
		}
		q.Done(c)
		assert.Equal(t, Key{Stack: "t2", Branch: "pr:2"}, got())

		q.SetGroupLimit(0)
		assert.Equal(t, "s003", got().Stack, "0 is unlimited")
		q.ShutDown()
	})
}

func TestQueueGroupLimitCountsOnlyWorkBelowApply(t *testing.T) {
	q := NewQueue(WithGroup(func(k Key) string { return k.Branch }), WithGroupLimit[Key](1))
	q.AddPriority(Key{Stack: "d1", Branch: "main"}, PriorityDrift)
	q.AddPriority(Key{Stack: "d2", Branch: "main"}, PriorityDrift)
	q.AddPriority(Key{Stack: "d3", Branch: "main"}, PriorityDrift)
	assert.Equal(t, "d1", mustGet(t, q).Stack)
	noneReady(t, q) // the group's one slot is taken
	q.AddPriority(Key{Stack: "a1", Branch: "main"}, PriorityApply)
	q.AddPriority(Key{Stack: "a2", Branch: "main"}, PriorityApply)
	assert.Equal(t, "a1", mustGet(t, q).Stack)
	assert.Equal(t, "a2", mustGet(t, q).Stack, "applies of one group all run")
	q.AddPriority(Key{Stack: "d3", Branch: "main"}, PriorityApply)
	assert.Equal(t, "d3", mustGet(t, q).Stack, "a key raised to an apply is not limited")
	q.Done(Key{Stack: "a1", Branch: "main"})
	noneReady(t, q) // applies do not free a slot they never took
	q.Done(Key{Stack: "d1", Branch: "main"})
	assert.Equal(t, "d2", mustGet(t, q).Stack)
}

func TestQueueGroupLimitLeavesTheAppliedBranchAlone(t *testing.T) {
	q := newKeyQueue("main", 1)
	for i := range 3 {
		q.AddPriority(Key{Stack: fmt.Sprintf("d%d", i), Branch: "main"}, PriorityDrift)
	}
	q.Add(Key{Stack: "p0", Branch: "pr:1"})
	q.Add(Key{Stack: "p1", Branch: "pr:1"})
	assert.Equal(t, "p0", mustGet(t, q).Stack)
	for i := range 3 {
		assert.Equal(t, fmt.Sprintf("d%d", i), mustGet(t, q).Stack, "a drift sweep uses every idle worker")
	}
	noneReady(t, q) // pr:1 is at its limit
	assert.Equal(t, "", KeyGroup("main")(Key{Stack: "x", Branch: "main"}))
	assert.Equal(t, "pr:1", KeyGroup("main")(Key{Stack: "x", Branch: "pr:1"}))
}

func TestQueueManyWorkersKeepPerKeyRulesAndGroupLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const limit = 3
		q := newKeyQueue("main", limit)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var mu sync.Mutex
		active := map[Key]int{}
		groupActive := map[string]int{}
		var violations []string
		var runs atomic.Int32
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				for {
					k, ok := q.Get(ctx)
					if !ok {
						return
					}
					mu.Lock()
					active[k]++
					if active[k] > 1 {
						violations = append(violations, fmt.Sprintf("two workers on %v", k))
					}
					if k.Branch != "main" {
						groupActive[k.Branch]++
						if groupActive[k.Branch] > limit {
							violations = append(violations, fmt.Sprintf("%d running of %s", groupActive[k.Branch], k.Branch))
						}
					}
					mu.Unlock()
					runs.Add(1)
					time.Sleep(time.Millisecond)
					mu.Lock()
					active[k]--
					if k.Branch != "main" {
						groupActive[k.Branch]--
					}
					mu.Unlock()
					q.Done(k)
				}
			})
		}
		for i := range 600 {
			switch i % 3 {
			case 0:
				q.Add(Key{Stack: fmt.Sprintf("s%d", i%40), Branch: "main"})
			case 1:
				q.Add(Key{Stack: fmt.Sprintf("s%d", i%40), Branch: fmt.Sprintf("pr:%d", i%4)})
			default:
				q.AddPriority(Key{Stack: fmt.Sprintf("s%d", i%40), Branch: "main"}, PriorityDrift)
			}
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		assert.Equal(t, 0, q.Len())
		q.ShutDown()
		wg.Wait()
		assert.Empty(t, violations)
		assert.GreaterOrEqual(t, runs.Load(), int32(40))
	})
}

func TestPriorityString(t *testing.T) {
	assert.Equal(t, "apply", PriorityApply.String())
	assert.Equal(t, "plan", PriorityPlan.String())
	assert.Equal(t, "drift", PriorityDrift.String())
	assert.Equal(t, "priority(9)", Priority(9).String())
	q := NewQueue[string]()
	q.AddPriority("x", Priority(9))
	p, _ := q.PriorityOf("x")
	assert.Equal(t, PriorityApply, p, "out-of-range priorities are clamped")
}

// BenchmarkQueue queues 2,000 keys of mixed priorities over 200 pull requests with a group limit,
// then hands them all out.
func BenchmarkQueue(b *testing.B) {
	const n = 2000
	keys := make([]Key, n)
	prio := make([]Priority, n)
	for i := range keys {
		switch i % 4 {
		case 0:
			keys[i], prio[i] = Key{Stack: fmt.Sprintf("s%d", i), Branch: "main"}, PriorityApply
		case 1:
			keys[i], prio[i] = Key{Stack: fmt.Sprintf("s%d", i), Branch: "main"}, PriorityDrift
		default:
			keys[i], prio[i] = Key{Stack: fmt.Sprintf("s%d", i), Branch: fmt.Sprintf("pr:%d", i%200)}, PriorityPlan
		}
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		q := newKeyQueue("main", 4)
		for i, k := range keys {
			q.AddPriority(k, prio[i])
		}
		for range n {
			k, ok := q.Get(ctx)
			if !ok {
				b.Fatal("queue closed")
			}
			q.Done(k)
		}
	}
}
