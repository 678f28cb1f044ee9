package reconciler_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	. "github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/boltstore"
)

type intentLog struct {
	mu  sync.Mutex
	got []Intent
	err error
}

func (l *intentLog) RecordIntent(ctx context.Context, in Intent) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return l.err
	}
	l.got = append(l.got, in)
	return nil
}

const heldRev = Revision("abcdef0123456789abcdef0123456789abcdef01")

func standbyOver(t *testing.T) (*Standby, *intentLog, *boltstore.Store) {
	t.Helper()
	store, err := boltstore.Open(filepath.Join(t.TempDir(), "trueup.db"), boltstore.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	ctx := t.Context()
	require.NoError(t, store.PutStack(ctx, StackState{Name: "held", Dir: "stacks/held", Held: &Hold{Revision: heldRev, Reason: "differs", Since: time.Now()}}))
	require.NoError(t, store.PutStack(ctx, StackState{Name: "calm", Dir: "stacks/calm", AppliedRev: heldRev}))
	require.NoError(t, store.PutStack(ctx, StackState{Name: "gone", Dir: "stacks/gone", Removed: true}))
	log := &intentLog{}
	return NewStandby(store, log, nil), log, store
}

func TestStandbyRecordsRequestsForTheLeader(t *testing.T) {
	cases := []struct {
		name    string
		call    func(s *Standby) error
		wantErr error
		want    []Intent
	}{
		{"approve with a prefix", func(s *Standby) error {
			rev, err := s.Approve(t.Context(), "held", "ABCDEF0")
			assert.Equal(t, heldRev, rev, "the full revision comes back")
			return err
		}, nil, []Intent{{Kind: IntentApprove, Stack: "held", Revision: heldRev}}},
		{"approve a different revision", func(s *Standby) error { _, err := s.Approve(t.Context(), "held", "1234567"); return err }, ErrConflict, nil},
		{"approve a short prefix", func(s *Standby) error { _, err := s.Approve(t.Context(), "held", "abcdef"); return err }, ErrConflict, nil},
		{"approve what is not held", func(s *Standby) error { _, err := s.Approve(t.Context(), "calm", "abcdef0"); return err }, ErrConflict, nil},
		{"approve an unknown stack", func(s *Standby) error { _, err := s.Approve(t.Context(), "nope", "abcdef0"); return err }, ErrNotFound, nil},
		{"reconcile", func(s *Standby) error { return s.Reconcile(t.Context(), "calm") }, nil, []Intent{{Kind: IntentReconcile, Stack: "calm"}}},
		{"reconcile an unknown stack", func(s *Standby) error { return s.Reconcile(t.Context(), "nope") }, ErrNotFound, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, log, _ := standbyOver(t)
			err := c.call(s)
			if c.wantErr != nil {
				assert.ErrorIs(t, err, c.wantErr)
			} else {
				assert.NoError(t, err)
			}
			assert.Equal(t, c.want, log.got)
		})
	}
}

func TestStandbyReportsARecorderFailure(t *testing.T) {
	s, log, _ := standbyOver(t)
	log.err = errors.New("connection refused")
	err := s.Reconcile(t.Context(), "calm")
	assert.ErrorContains(t, err, "record reconcile of calm for the leader: connection refused")
}

func TestStandbyReadsTheSharedStore(t *testing.T) {
	s, _, store := standbyOver(t)
	all, err := s.Stacks(t.Context())
	require.NoError(t, err)
	var names []string
	for _, st := range all {
		names = append(names, st.Name)
		assert.Equal(t, !st.Removed, st.InRepository, st.Name)
		assert.False(t, st.Running || st.Pending, "a standby runs nothing")
	}
	assert.Equal(t, []string{"calm", "gone", "held"}, names)
	held, err := s.Stack(t.Context(), "held")
	require.NoError(t, err)
	assert.Equal(t, heldRev, held.Held.Revision)
	_, err = s.Stack(t.Context(), "nope")
	assert.ErrorIs(t, err, ErrNotFound)

	_, err = s.PullPlans(t.Context(), 7)
	assert.ErrorIs(t, err, ErrNotFound)
	require.NoError(t, store.PutBranchPlan(t.Context(), BranchPlan{Target: "pr:7", Stack: "calm"}))
	plans, err := s.PullPlans(t.Context(), 7)
	require.NoError(t, err)
	assert.Len(t, plans, 1)
	assert.True(t, s.Health().Standby)
	assert.NoError(t, s.StoreOK(t.Context()))
}

func TestTheLeaderCarriesIntentsAndDropsStaleOnes(t *testing.T) {
	h := newHarness(t, t.TempDir(), Options{})
	ctx := t.Context()
	err := h.rec.Carry(ctx, Intent{Kind: IntentReconcile, Stack: "stacks/a"})
	assert.ErrorContains(t, err, "not read yet", "before the first poll an intent waits; it is not dropped")

	h.start()
	eventually(t, "stacks/a applied", func() bool { return h.state("stacks/a").AppliedRev == "r1" })
	st := h.state("stacks/a")
	st.Held = &Hold{Revision: heldRev, Reason: "differs"}
	require.NoError(t, h.store.PutStack(ctx, st))
	// A stale approval (another revision is held now) and an unknown stack are dropped, not retried.
	assert.NoError(t, h.rec.Carry(ctx, Intent{Kind: IntentApprove, Stack: "stacks/a", Revision: "1111111111111111111111111111111111111111"}))
	assert.NoError(t, h.rec.Carry(ctx, Intent{Kind: IntentReconcile, Stack: "stacks/nope"}))
	assert.NoError(t, h.rec.Carry(ctx, Intent{Kind: "explode", Stack: "stacks/a"}))
	assert.Empty(t, h.state("stacks/a").ApprovedRev)
	// A current approval goes to the stack's worker, as the API's would, which records it.
	assert.NoError(t, h.rec.Carry(ctx, Intent{Kind: IntentApprove, Stack: "stacks/a", Revision: heldRev}))
	eventually(t, "the approval recorded by the stack's worker", func() bool { return h.state("stacks/a").ApprovedRev == heldRev })
}
