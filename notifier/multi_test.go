package notifier

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
)

// fakeNotifier records the events it was given and returns err.
type fakeNotifier struct {
	name string
	err  error
	got  []reconciler.Event
}

func (f *fakeNotifier) Name() string { return f.name }

func (f *fakeNotifier) Notify(_ context.Context, e reconciler.Event) error {
	f.got = append(f.got, e)
	return f.err
}

func TestMultiOneFailureDoesNotStopTheOthers(t *testing.T) {
	boom := errors.New("webhook said no")
	a := &fakeNotifier{name: "first"}
	b := &fakeNotifier{name: "flaky", err: boom}
	c := &fakeNotifier{name: "last"}
	e := reconciler.Event{Kind: reconciler.EventApplyFailed, Stack: "app"}

	err := NewMulti(a, nil, b, c).Notify(context.Background(), e)

	require.Error(t, err)
	assert.ErrorIs(t, err, boom)
	assert.Contains(t, err.Error(), "notify flaky: webhook said no")
	assert.NotContains(t, err.Error(), "first")
	assert.NotContains(t, err.Error(), "last")
	for _, n := range []*fakeNotifier{a, b, c} {
		assert.Equal(t, []reconciler.Event{e}, n.got, n.name)
	}
}

func TestMultiJoinsEveryFailure(t *testing.T) {
	e1, e2 := errors.New("one"), errors.New("two")
	unnamed := reconciler.NotifierFunc(func(context.Context, reconciler.Event) error { return e2 })

	err := NewMulti(&fakeNotifier{name: "a", err: e1}, unnamed).Notify(context.Background(), reconciler.Event{})

	assert.ErrorIs(t, err, e1)
	assert.ErrorIs(t, err, e2)
	assert.Contains(t, err.Error(), "notify a: one")
	assert.Contains(t, err.Error(), "notify reconciler.NotifierFunc: two", "a notifier without a name is named by its type")
}

func TestMultiAllDelivered(t *testing.T) {
	a, b := &fakeNotifier{name: "a"}, &fakeNotifier{name: "b"}
	require.NoError(t, NewMulti(a, b).Notify(context.Background(), reconciler.Event{Stack: "s"}))
	assert.Len(t, a.got, 1)
	assert.Len(t, b.got, 1)
	require.NoError(t, NewMulti().Notify(context.Background(), reconciler.Event{}), "no notifiers is no failure")
}

func TestNames(t *testing.T) {
	assert.Equal(t, "log", NameOf(NewLog(nil)))
	assert.Equal(t, "multi", NameOf(NewMulti()))
}
