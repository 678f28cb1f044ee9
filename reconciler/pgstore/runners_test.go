package pgstore

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReplicasShareOneRunnerKeyMadeByTheFirstToAsk(t *testing.T) {
	dsn := newDB(t)
	a, b := openStore(t, dsn), openStore(t, dsn)
	ctx := context.Background()
	keys := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := a
			if i%2 == 1 {
				s = b
			}
			k, err := s.RunnerKey(ctx, "adoption")
			require.NoError(t, err)
			keys[i] = k
		}()
	}
	wg.Wait()
	require.Len(t, keys[0], 32)
	for _, k := range keys[1:] {
		assert.Equal(t, keys[0], k, "every replica, even racing, gets the same key")
	}
	other, err := a.RunnerKey(ctx, "another")
	require.NoError(t, err)
	assert.NotEqual(t, keys[0], other)
	again, err := openStore(t, dsn).RunnerKey(ctx, "adoption")
	require.NoError(t, err)
	assert.Equal(t, keys[0], again, "the key outlives the replicas")
}

func TestAReplicasAdvertisedAddressIsReadByTheOthers(t *testing.T) {
	dsn := newDB(t)
	a, b := openStore(t, dsn), openStore(t, dsn)
	ctx := context.Background()
	addr, err := b.Address(ctx, "a-1")
	require.NoError(t, err)
	assert.Empty(t, addr, "nothing advertised yet")
	require.NoError(t, a.Advertise(ctx, "a-1", "http://10.0.0.5:8080"))
	require.NoError(t, a.Advertise(ctx, "a-1", "http://10.0.0.6:8080"))
	addr, err = b.Address(ctx, "a-1")
	require.NoError(t, err)
	assert.Equal(t, "http://10.0.0.6:8080", addr, "the last address advertised")
	assert.Error(t, a.Advertise(ctx, "", "http://x"))
	assert.Error(t, a.Advertise(ctx, "a-1", "http://x\x00"))
}
