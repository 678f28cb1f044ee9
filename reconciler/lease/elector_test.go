package lease

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const ttl = 15 * time.Second

// flaky wraps a store for one replica, so a test can cut that replica off (a network partition, or a
// process paused) while the other still reaches the store.
type flaky struct {
	Store
	cut atomic.Bool
}

func (f *flaky) Acquire(ctx context.Context, h string, t time.Duration) (Lease, bool, error) {
	if f.cut.Load() {
		return Lease{}, false, errors.New("dial: i/o timeout")
	}
	return f.Store.Acquire(ctx, h, t)
}

func (f *flaky) Renew(ctx context.Context, h string, e int64, t time.Duration) (Lease, error) {
	if f.cut.Load() {
		return Lease{}, errors.New("dial: i/o timeout")
	}
	return f.Store.Renew(ctx, h, e, t)
}

// terms records which replicas lead, and fails the test if two ever lead at once.
type terms struct {
	mu      sync.Mutex
	leading map[string]int64
	epochs  []int64
	causes  []error
	overlap bool
}

func (tr *terms) lead(name string) func(ctx context.Context, l Lease) {
	return func(ctx context.Context, l Lease) {
		tr.mu.Lock()
		if len(tr.leading) > 0 {
			tr.overlap = true
		}
		tr.leading[name] = l.Epoch
		tr.epochs = append(tr.epochs, l.Epoch)
		tr.mu.Unlock()
		<-ctx.Done()
		tr.mu.Lock()
		delete(tr.leading, name)
		tr.causes = append(tr.causes, context.Cause(ctx))
		tr.mu.Unlock()
	}
}

func (tr *terms) who() map[string]int64 {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	out := map[string]int64{}
	for k, v := range tr.leading {
		out[k] = v
	}
	return out
}

func newTerms() *terms { return &terms{leading: map[string]int64{}} }

func elector(t *testing.T, s Store, holder string) *Elector {
	t.Helper()
	e, err := NewElector(s, Options{Holder: holder, TTL: ttl})
	require.NoError(t, err)
	return e
}

func TestOneReplicaLeadsRenewsAndReleasesOnShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &memStore{}
		tr := newTerms()
		e := elector(t, store, "a")
		ctx, stop := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { e.Run(ctx, tr.lead("a")); close(done) }()

		time.Sleep(5 * time.Minute) // twenty TTLs: only renewals keep it
		synctest.Wait()
		assert.Equal(t, map[string]int64{"a": 1}, tr.who(), "one term, renewed all along")
		st := e.State()
		assert.True(t, st.Leading)
		assert.Equal(t, int64(1), st.Lease.Epoch)
		assert.Less(t, st.Age, ttl/3+time.Second, "the lease's age stays under a renewal interval")

		stop()
		<-done
		assert.Equal(t, []error{context.Canceled}, tr.causes, "a shutdown is not a step-down")
		assert.False(t, store.current().Live(time.Now()), "a clean stop releases the lease for the standby")
		assert.False(t, e.State().Leading)
	})
}

func TestStandbyTakesOverWithinTheTTLAndTermsNeverOverlap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &memStore{}
		tr := newTerms()
		a, b := &flaky{Store: store}, &flaky{Store: store}
		ctx, stop := context.WithCancel(t.Context())
		defer stop()
		ea, eb := elector(t, a, "a"), elector(t, b, "b")
		go ea.Run(ctx, tr.lead("a"))
		time.Sleep(time.Second)
		go eb.Run(ctx, tr.lead("b"))
		time.Sleep(time.Minute)
		synctest.Wait()
		require.Equal(t, map[string]int64{"a": 1}, tr.who())
		assert.Equal(t, "a", eb.State().Lease.Holder, "the standby knows who leads")
		assert.False(t, eb.State().Leading)

		a.cut.Store(true) // a can no longer reach the database: it is as good as dead to b
		cutAt := time.Now()
		for len(tr.who()) == 0 || tr.who()["b"] == 0 {
			time.Sleep(100 * time.Millisecond)
		}
		assert.LessOrEqual(t, time.Since(cutAt), ttl+ttl/5+time.Second, "b leads within the TTL and one retry")
		assert.Equal(t, map[string]int64{"b": 2}, tr.who(), "a stepped down before b took over; b has a new epoch")
		assert.False(t, tr.overlap, "two replicas never led at once")
		assert.ErrorIs(t, tr.causes[0], ErrStepDown)

		a.cut.Store(false) // a comes back: it finds b's live lease and stays a standby
		time.Sleep(time.Minute)
		synctest.Wait()
		assert.Equal(t, map[string]int64{"b": 2}, tr.who())
		assert.Equal(t, int64(2), ea.State().Lease.Epoch)
		assert.False(t, tr.overlap)
	})
}

func TestStepDownEndsTheTermAtOnceAndTheReplicaMayLeadAgainLater(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &memStore{}
		tr := newTerms()
		e := elector(t, store, "a")
		ctx, stop := context.WithCancel(t.Context())
		defer stop()
		go e.Run(ctx, tr.lead("a"))
		time.Sleep(time.Second)
		synctest.Wait()
		require.Equal(t, map[string]int64{"a": 1}, tr.who())

		e.StepDown() // a store refused a write as fenced
		synctest.Wait()
		assert.Empty(t, tr.who(), "the term ended without waiting for a renewal")
		assert.ErrorIs(t, tr.causes[0], ErrStepDown)

		// Its own lease still looks live, so it waits for it to run out, then takes a new epoch:
		// a fenced write must never be retried under the same epoch.
		time.Sleep(ttl + ttl/5 + time.Second)
		synctest.Wait()
		assert.Equal(t, map[string]int64{"a": 2}, tr.who())
	})
}

func TestLeaderWithoutItsDatabaseStepsDownAndComesBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &memStore{}
		tr := newTerms()
		e := elector(t, store, "a")
		ctx, stop := context.WithCancel(t.Context())
		defer stop()
		go e.Run(ctx, tr.lead("a"))
		time.Sleep(time.Second)
		synctest.Wait()

		store.setDown(true)
		downAt := time.Now()
		for len(tr.who()) > 0 {
			time.Sleep(100 * time.Millisecond)
		}
		assert.Less(t, time.Since(downAt), ttl, "it stops before anyone else could lead")
		assert.Error(t, e.State().Err, "the store's error is kept for the status page")

		store.setDown(false)
		time.Sleep(ttl + ttl/5 + time.Second)
		synctest.Wait()
		assert.Equal(t, map[string]int64{"a": 2}, tr.who(), "it leads again, under a new epoch")
		assert.NoError(t, e.State().Err)
	})
}

func TestLeaseIsKeptWhileTheLeaderFinishesAfterShutdownBegan(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &memStore{}
		e := elector(t, store, "a")
		ctx, stop := context.WithCancel(t.Context())
		finished := make(chan struct{})
		go e.Run(ctx, func(ctx context.Context, l Lease) {
			<-ctx.Done()
			time.Sleep(2 * time.Minute) // a running apply within its shutdown grace
			close(finished)
		})
		time.Sleep(time.Second)
		stop()
		time.Sleep(time.Minute + 30*time.Second)
		assert.True(t, store.current().Live(time.Now()), "still renewed while the term's work finishes")
		assert.Equal(t, int64(1), store.current().Epoch)
		<-finished
		synctest.Wait()
		assert.False(t, store.current().Live(time.Now()), "released once it returned")
	})
}

func TestNewElectorRefusesBadOptions(t *testing.T) {
	_, err := NewElector(&memStore{}, Options{})
	assert.ErrorContains(t, err, "holder")
	_, err = NewElector(&memStore{}, Options{Holder: "a", TTL: time.Second, Renew: 2 * time.Second})
	assert.ErrorContains(t, err, "shorter than the TTL")
}
