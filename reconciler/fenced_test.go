package reconciler_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	. "github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/boltstore"
)

// fencedStore refuses every StartRun as a shared store refuses a stale leader's writes.
type fencedStore struct {
	Store
	refused atomic.Int32
}

func (s *fencedStore) StartRun(ctx context.Context, r RunRecord) error {
	s.refused.Add(1)
	return fmt.Errorf("start run %s: %w", r.ID, ErrFenced)
}

func TestAFencedReplicaStartsNoTerraformRun(t *testing.T) {
	dir := t.TempDir()
	bolt, err := boltstore.Open(filepath.Join(dir, "trueup.db"), boltstore.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = bolt.Close() })
	store := &fencedStore{Store: bolt}
	src, runner := newFakeSource(), &fakeRunner{}
	var planned atomic.Int32
	runner.PlanFunc = func(ctx context.Context, spec RunSpec) (*Plan, error) {
		planned.Add(1)
		return &Plan{Complete: true}, nil
	}
	src.commit("r1", map[string]string{"stacks/a/main.tf": "a1", "stacks/b/main.tf": "b1"})
	rec, err := New(src, runner, store, Options{DataDir: dir, LoadLayout: dirLayout, PollInterval: 10 * time.Millisecond})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- rec.Run(ctx) }()

	eventually(t, "both stacks tried to start a run", func() bool { return store.refused.Load() >= 2 })
	cancel()
	require.NoError(t, <-done)
	assert.Zero(t, planned.Load(), "no Terraform ran for a run the store refused to record")
	inflight, err := bolt.InFlight(t.Context())
	require.NoError(t, err)
	assert.Empty(t, inflight)
}

func TestLosingTheLeaseInterruptsTerraformWithoutTheGrace(t *testing.T) {
	h := newHarness(t, t.TempDir(), Options{ShutdownGrace: time.Hour})
	started := make(chan struct{})
	var once sync.Once
	h.runner.ApplyFunc = func(ctx context.Context, spec RunSpec, plan *Plan) (*ApplyResult, error) {
		if spec.Stack.Name != "stacks/a" {
			return &ApplyResult{}, nil
		}
		once.Do(func() { close(started) })
		<-ctx.Done() // a long apply: only the interrupt ends it
		return nil, Errorf(KindCanceled, "apply", ctx.Err())
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.rec.Run(ctx) }()
	<-started
	cancel(fmt.Errorf("lease: %w", ErrFenced))
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("Run waited for the shutdown grace although the lease was lost")
	}
	assert.Equal(t, ResultInterrupted, h.state("stacks/a").LastRun.Result)
	assert.True(t, errors.Is(context.Cause(ctx), ErrFenced))
}
