package boltstore

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
)

func TestPlanTargetsAndMergesListEverything(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "trueup.db"), Options{})
	require.NoError(t, err)
	defer s.Close()
	ctx := t.Context()
	for _, p := range []reconciler.BranchPlan{
		{Target: "pr:10", Stack: "a"}, {Target: "pr:1", Stack: "b"}, {Target: "pr:1", Stack: "a"}, {Target: "feature/x", Stack: "a"},
	} {
		require.NoError(t, s.PutBranchPlan(ctx, p))
	}
	targets, err := s.PlanTargets(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"feature/x", "pr:1", "pr:10"}, targets)

	require.NoError(t, s.RecordMerge(ctx, "m1", 1))
	require.NoError(t, s.RecordMerge(ctx, "m2", 10))
	merges, err := s.Merges(ctx)
	require.NoError(t, err)
	assert.Equal(t, map[reconciler.Revision]int{"m1": 1, "m2": 10}, merges)
}
