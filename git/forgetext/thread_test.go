package forgetext

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// memThread is a forge's comment thread in memory; ops records every write.
type memThread struct {
	next     int64
	comments map[int64]string
	ops      []string
	fail     error
}

func (m *memThread) Edit(_ context.Context, id int64, body string) (bool, error) {
	if m.fail != nil {
		return false, m.fail
	}
	if _, ok := m.comments[id]; !ok {
		return false, nil
	}
	m.comments[id] = body
	m.ops = append(m.ops, fmt.Sprintf("edit %d", id))
	return true, nil
}

func (m *memThread) Create(_ context.Context, body string) (int64, error) {
	if m.fail != nil {
		return 0, m.fail
	}
	m.next++
	m.comments[m.next] = body
	m.ops = append(m.ops, fmt.Sprintf("create %d", m.next))
	return m.next, nil
}

func (m *memThread) Delete(_ context.Context, id int64) error {
	if m.fail != nil {
		return m.fail
	}
	delete(m.comments, id)
	m.ops = append(m.ops, fmt.Sprintf("delete %d", id))
	return nil
}

func TestSyncEditsCreatesAndDeletesOnlyWhatChanged(t *testing.T) {
	th := &memThread{comments: map[int64]string{}}
	posted := Posted{}
	var done []string
	log := func(action string, k int, id int64) { done = append(done, fmt.Sprintf("%s %d/%d", action, k, id)) }
	ctx := t.Context()

	require.NoError(t, Sync(ctx, th, posted, []string{"a", "b", "c"}, log))
	assert.Equal(t, []string{"create 1", "create 2", "create 3"}, th.ops)
	th.ops = nil
	require.NoError(t, Sync(ctx, th, posted, []string{"a", "B"}, log))
	assert.Equal(t, []string{"edit 2", "delete 3"}, th.ops, "the unchanged part is left alone, the surplus one deleted")
	th.ops = nil
	delete(th.comments, 1) // someone deleted part 1
	require.NoError(t, Sync(ctx, th, posted, []string{"a2", "B"}, log))
	assert.Equal(t, []string{"create 4"}, th.ops, "a deleted comment is posted again")
	assert.Equal(t, Posted{1: {ID: 4, Body: "a2"}, 2: {ID: 2, Body: "B"}}, posted)
	assert.Equal(t, "deleted 3/3", done[4])

	th.fail = errors.New("forge down")
	assert.ErrorContains(t, Sync(ctx, th, posted, []string{"x"}, log), "forge down")
}

func TestKeepHoldsTheOldestCommentOfAPart(t *testing.T) {
	p := Posted{}
	assert.Zero(t, p.Keep(1, 20, "b"))
	assert.Equal(t, int64(20), p.Keep(1, 10, "a"), "an older comment wins; the newer is surplus")
	assert.Equal(t, int64(30), p.Keep(1, 30, "c"), "a newer comment is surplus")
	assert.Equal(t, Posted{1: {ID: 10, Body: "a"}}, p)
}
