package deliveries

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestDedupPrefersTheSharedRecordAndFallsBackToMemory(t *testing.T) {
	seen := map[string]bool{}
	var down bool
	shared := func(_ context.Context, id string) (bool, error) {
		if down {
			return false, errors.New("connection refused")
		}
		fresh := !seen[id]
		seen[id] = true
		return fresh, nil
	}
	a, b := NewDedup(10, shared, nil), NewDedup(10, shared, nil)
	ctx := t.Context()
	assert.True(t, a.Fresh(ctx, "d-1"))
	assert.False(t, b.Fresh(ctx, "d-1"), "another replica's delivery is a duplicate here too")
	down = true
	assert.True(t, b.Fresh(ctx, "d-2"))
	assert.False(t, b.Fresh(ctx, "d-2"), "memory still drops what this replica saw")

	alone := NewDedup(10, nil, nil)
	assert.True(t, alone.Fresh(ctx, "x"))
	assert.False(t, alone.Fresh(ctx, "x"))
}
