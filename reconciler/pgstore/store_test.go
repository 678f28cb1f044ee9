package pgstore

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/storetest"
)

func TestStore(t *testing.T) {
	dsn := newDB(t)
	storetest.TestStore(t, func(t *testing.T, dir string) reconciler.Store {
		s, err := Open(t.Context(), dsn, Options{Schema: schemaFor(dir), Logger: quiet})
		require.NoError(t, err)
		return s
	})
}

// fencedSession is a fenced view holding a live lease; its Close releases the lease and closes the
// store under it.
type fencedSession struct {
	reconciler.Store
	owner  *Store
	holder string
	epoch  int64
}

func (f *fencedSession) Close() error {
	err := f.Store.Close()
	if err == nil {
		err = f.owner.Release(context.Background(), f.holder, f.epoch)
	}
	if err == nil {
		err = f.owner.Close()
	}
	return err
}

// The suite passes against a fenced view under a live lease: fencing refuses nothing it should not.
func TestStoreFenced(t *testing.T) {
	dsn := newDB(t)
	storetest.TestStore(t, func(t *testing.T, dir string) reconciler.Store {
		s, err := Open(t.Context(), dsn, Options{Schema: schemaFor(dir), Logger: quiet})
		require.NoError(t, err)
		l, ok, err := s.Acquire(t.Context(), "test-"+dir, time.Hour)
		require.NoError(t, err)
		require.True(t, ok, "the lease is free: %+v", l)
		return &fencedSession{Store: s.Fenced(Fence{Holder: l.Holder, Epoch: l.Epoch}), owner: s, holder: l.Holder, epoch: l.Epoch}
	})
}
