package api

import (
	"context"
	"fmt"
	"sync"

	"github.com/trueup/trueup/reconciler"
)

// fakeBackend is a hand-written Backend: each method calls its Func field, or answers a harmless default.
type fakeBackend struct {
	StacksFunc    func(ctx context.Context) ([]reconciler.StackStatus, error)
	StackFunc     func(ctx context.Context, name string) (reconciler.StackStatus, error)
	ReconcileFunc func(ctx context.Context, name string) error
	ApproveFunc   func(ctx context.Context, name, rev string) (reconciler.Revision, error)
	HealthFunc    func() reconciler.Health
	StoreOKFunc   func(ctx context.Context) error
	PullPlansFunc func(ctx context.Context, number int) ([]reconciler.BranchPlan, error)

	mu    sync.Mutex
	calls []string
}

var _ Backend = (*fakeBackend)(nil)

func (f *fakeBackend) record(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

// Calls returns the mutations the backend was asked for, in order.
func (f *fakeBackend) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeBackend) Stacks(ctx context.Context) ([]reconciler.StackStatus, error) {
	if f.StacksFunc == nil {
		return nil, nil
	}
	return f.StacksFunc(ctx)
}

func (f *fakeBackend) Stack(ctx context.Context, name string) (reconciler.StackStatus, error) {
	if f.StackFunc == nil {
		return reconciler.StackStatus{}, fmt.Errorf("stack %q: %w", name, reconciler.ErrNotFound)
	}
	return f.StackFunc(ctx, name)
}

func (f *fakeBackend) Reconcile(ctx context.Context, name string) error {
	f.record("reconcile %s", name)
	if f.ReconcileFunc == nil {
		return nil
	}
	return f.ReconcileFunc(ctx, name)
}

func (f *fakeBackend) Approve(ctx context.Context, name, rev string) (reconciler.Revision, error) {
	f.record("approve %s %s", name, rev)
	if f.ApproveFunc == nil {
		return reconciler.Revision(rev), nil
	}
	return f.ApproveFunc(ctx, name, rev)
}

func (f *fakeBackend) Health() reconciler.Health {
	if f.HealthFunc == nil {
		return reconciler.Health{}
	}
	return f.HealthFunc()
}

func (f *fakeBackend) StoreOK(ctx context.Context) error {
	if f.StoreOKFunc == nil {
		return nil
	}
	return f.StoreOKFunc(ctx)
}

func (f *fakeBackend) PullPlans(ctx context.Context, number int) ([]reconciler.BranchPlan, error) {
	if f.PullPlansFunc == nil {
		return nil, reconciler.ErrNotFound
	}
	return f.PullPlansFunc(ctx, number)
}
