package reconciler_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	. "github.com/trueup/trueup/reconciler"
)

// TestApprovalRacingTheStacksWorkerIsNeverLost: the merge of #1 is held (its plan differs from
// the reviewed one); a person approves it while the stack's worker is kept busy with runs of the
// same stack. The approval is recorded by the stack's worker, the one writer of its state, and the
// held apply goes ahead exactly once.
func TestApprovalRacingTheStacksWorkerIsNeverLost(t *testing.T) {
	p := newPullsHarness(t)
	r1, p1 := p.startWithPull1()
	eventually(t, "#1 planned", func() bool { return p.shown("pr:1", "stacks/a", p1) })
	eventually(t, "r1 applied", func() bool { return p.state("stacks/a").AppliedRev == r1 })

	reviewed := p.runner.PlanFunc
	var mu sync.Mutex
	applies := 0
	p.runner.PlanFunc = func(ctx context.Context, spec RunSpec) (*Plan, error) {
		if spec.Untrusted {
			return reviewed(ctx, spec)
		}
		return &Plan{Complete: true, Changes: []ResourceChange{{Address: "local_file.other", Action: ActionCreate}}}, nil
	}
	p.runner.ApplyFunc = func(ctx context.Context, spec RunSpec, plan *Plan) (*ApplyResult, error) {
		mu.Lock()
		applies++
		mu.Unlock()
		return &ApplyResult{}, nil
	}
	m1 := p.dag.add("merge-one", withFile(pullBase, "stacks/a/main.tf", "a2"), r1, p1)
	p.dag.set(map[string]Revision{"main": m1})
	eventually(t, "the merge held", func() bool { h := p.state("stacks/a").Held; return h != nil && h.Revision == m1 })

	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 50 {
				p.rec.RequestDriftCheck("stacks/a") // the stack's worker runs again and again
			}
		})
	}
	rev, err := p.rec.Approve(context.Background(), "stacks/a", string(m1))
	require.NoError(t, err)
	assert.Equal(t, m1, rev)
	wg.Wait()

	eventually(t, "the approved merge applied", func() bool { return p.state("stacks/a").AppliedRev == m1 })
	st := p.state("stacks/a")
	assert.Nil(t, st.Held)
	assert.Equal(t, m1, st.ApprovedRev)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, 1, applies, "the held apply ran exactly once")
}
