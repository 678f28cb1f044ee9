package pgstore

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler/lease"
)

// Twenty replicas asking for the lease at once: exactly one gets it, and everyone agrees who.
func TestAcquireHasOneWinner(t *testing.T) {
	s := openStore(t, newDB(t)+"&pool_max_conns=24")
	const replicas = 20
	var (
		wg     sync.WaitGroup
		start  = make(chan struct{})
		leases = make([]lease.Lease, replicas)
		won    = make([]bool, replicas)
		errs   = make([]error, replicas)
	)
	for i := range replicas {
		wg.Go(func() {
			<-start
			leases[i], won[i], errs[i] = s.Acquire(t.Context(), fmt.Sprintf("replica-%d", i), time.Minute)
		})
	}
	close(start)
	wg.Wait()
	winners := 0
	for i := range replicas {
		require.NoError(t, errs[i])
		if won[i] {
			winners++
			assert.Equal(t, fmt.Sprintf("replica-%d", i), leases[i].Holder)
		}
	}
	require.Equal(t, 1, winners)
	cur, _, err := s.Current(t.Context())
	require.NoError(t, err)
	assert.Equal(t, int64(1), cur.Epoch)
	for i := range replicas {
		assert.Equal(t, cur.Holder, leases[i].Holder, "replica %d was told who leads", i)
		assert.Equal(t, int64(1), leases[i].Epoch)
	}
}

func TestLeaseLifecycle(t *testing.T) {
	s := openStore(t, newDB(t))
	ctx := t.Context()

	l, now, err := s.Current(ctx)
	require.NoError(t, err)
	assert.Equal(t, lease.Lease{}, l, "none was ever taken")
	assert.WithinDuration(t, time.Now(), now, time.Minute, "the database's now")

	a, ok, err := s.Acquire(ctx, "a", time.Hour)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, int64(1), a.Epoch)
	assert.Equal(t, a.Acquired, a.Renewed)
	assert.Equal(t, time.Hour, a.Expires.Sub(a.Acquired), "ttl from the database's now")

	got, ok, err := s.Acquire(ctx, "b", time.Hour)
	require.NoError(t, err)
	assert.False(t, ok, "a live lease is not taken")
	assert.Equal(t, a, got, "the loser learns who holds it")
	_, ok, err = s.Acquire(ctx, "a", time.Hour)
	require.NoError(t, err)
	assert.False(t, ok, "not even by its holder: every win is a new epoch")

	renewed, err := s.Renew(ctx, "a", 1, 2*time.Hour)
	require.NoError(t, err)
	assert.Equal(t, a.Acquired, renewed.Acquired)
	assert.True(t, renewed.Renewed.After(a.Renewed))
	assert.Equal(t, 2*time.Hour, renewed.Expires.Sub(renewed.Renewed))
	for _, bad := range []struct {
		holder string
		epoch  int64
	}{{"b", 1}, {"a", 2}, {"a", 0}} {
		_, err = s.Renew(ctx, bad.holder, bad.epoch, time.Hour)
		assert.ErrorIs(t, err, lease.ErrLost, "%s at %d", bad.holder, bad.epoch)
	}
	require.NoError(t, s.Release(ctx, "b", 1), "releasing someone else's lease is no error")
	cur, now, err := s.Current(ctx)
	require.NoError(t, err)
	assert.True(t, cur.Live(now), "and changes nothing")

	require.NoError(t, s.Release(ctx, "a", 1))
	cur, now, err = s.Current(ctx)
	require.NoError(t, err)
	assert.False(t, cur.Live(now), "released")
	_, err = s.Renew(ctx, "a", 1, time.Hour)
	assert.ErrorIs(t, err, lease.ErrLost, "a released lease is not renewed")

	b, ok, err := s.Acquire(ctx, "b", time.Hour)
	require.NoError(t, err)
	require.True(t, ok, "a standby takes a released lease at once")
	assert.Equal(t, int64(2), b.Epoch)
	require.NoError(t, s.Release(ctx, "a", 1), "a late release of an old epoch is no error")
	cur, now, err = s.Current(ctx)
	require.NoError(t, err)
	assert.Equal(t, b, cur)
	assert.True(t, cur.Live(now), "and does not end the new leader's lease")
}

func TestLeaseRunsOut(t *testing.T) {
	s := openStore(t, newDB(t))
	ctx := t.Context()
	a, ok, err := s.Acquire(ctx, "a", 300*time.Millisecond)
	require.NoError(t, err)
	require.True(t, ok)
	require.Eventually(t, func() bool {
		cur, now, err := s.Current(ctx)
		return err == nil && !cur.Live(now)
	}, 5*time.Second, 20*time.Millisecond)
	_, err = s.Renew(ctx, "a", a.Epoch, time.Hour)
	assert.ErrorIs(t, err, lease.ErrLost, "a lease that ran out is not renewed, even with nobody else holding it")
	cur, _, err := s.Current(ctx)
	require.NoError(t, err)
	assert.Equal(t, a, cur, "the failed renewal changed nothing")

	b, ok, err := s.Acquire(ctx, "b", time.Hour)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, int64(2), b.Epoch)
	a2, ok, err := s.Acquire(ctx, "a", time.Hour)
	require.NoError(t, err)
	assert.False(t, ok)
	assert.Equal(t, b, a2)
}
