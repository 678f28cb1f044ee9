package reconciler_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	. "github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/boltstore"
)

// harness runs a Reconciler over fakes and a real store until the test ends.
type harness struct {
	t      *testing.T
	rec    *Reconciler
	src    *fakeSource
	runner *fakeRunner
	store  *boltstore.Store
	dir    string
	cancel context.CancelFunc
	done   chan error
}

func newHarness(t *testing.T, dir string, opts Options) *harness {
	t.Helper()
	store, err := boltstore.Open(filepath.Join(dir, "trueup.db"), boltstore.Options{})
	require.NoError(t, err)
	h := &harness{t: t, src: newFakeSource(), runner: &fakeRunner{}, store: store, dir: dir}
	opts.DataDir, opts.LoadLayout, opts.PollInterval = dir, dirLayout, 10*time.Millisecond
	if opts.Drift.Interval == 0 {
		opts.Drift.Interval = time.Hour
	}
	h.rec, err = New(h.src, h.runner, store, opts)
	require.NoError(t, err)
	h.src.commit("r1", map[string]string{"stacks/a/main.tf": "a1", "stacks/b/main.tf": "b1"})
	t.Cleanup(func() { _ = h.stop(); _ = store.Close() })
	return h
}

// start runs the reconciler; set the fakes' funcs before.
func (h *harness) start() *harness {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel, h.done = cancel, make(chan error, 1)
	go func() { h.done <- h.rec.Run(ctx) }()
	return h
}

func (h *harness) stop() error {
	if h.cancel == nil {
		return nil
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		return err
	case <-time.After(30 * time.Second):
		return errors.New("Run did not return")
	}
}

func (h *harness) state(name string) StackState {
	st, _ := h.store.Stack(context.Background(), name)
	return st
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, 30*time.Second, 5*time.Millisecond, what)
}

// recorder is a Notifier that fails the first `fail` deliveries and records the rest.
type recorder struct {
	mu     sync.Mutex
	fail   int
	events []Event
}

func (r *recorder) Notify(ctx context.Context, e Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail > 0 {
		r.fail--
		return errors.New("slack is down")
	}
	r.events = append(r.events, e)
	return nil
}

func (r *recorder) kinds() []EventKind {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []EventKind
	for _, e := range r.events {
		out = append(out, e.Kind)
	}
	return out
}

func TestFailedAlertsWaitInTheOutboxAndGoOutInOrderOnce(t *testing.T) {
	alerts := &recorder{fail: 2}
	h := newHarness(t, t.TempDir(), Options{Alerts: alerts})
	var applies atomic.Int32
	h.runner.ApplyFunc = func(ctx context.Context, spec RunSpec, plan *Plan) (*ApplyResult, error) {
		applies.Add(1)
		if spec.Stack.Name == "stacks/a" && spec.Revision == "r1" {
			return nil, Errorf(KindFailed, "apply", errors.New("Error: boom"))
		}
		return &ApplyResult{}, nil
	}
	h.start()
	eventually(t, "a failed at r1", func() bool { return h.state("stacks/a").LastRun != nil })
	h.src.commit("r2", map[string]string{"stacks/a/main.tf": "a2", "stacks/b/main.tf": "b1"})
	eventually(t, "failure and recovery delivered", func() bool { return len(alerts.kinds()) == 2 })
	require.NoError(t, h.stop())
	assert.Equal(t, []EventKind{EventApplyFailed, EventApplyRecovered}, alerts.kinds(), "in order, each once, after two failed deliveries")
	out, err := h.store.Outbox(context.Background(), 0)
	require.NoError(t, err)
	assert.Empty(t, out, "delivered alerts leave the outbox")
}

func TestUndeliveredAlertsSurviveARestart(t *testing.T) {
	dir := t.TempDir()
	down := &recorder{fail: 1 << 30}
	h := newHarness(t, dir, Options{Alerts: down})
	h.runner.ApplyFunc = func(ctx context.Context, spec RunSpec, plan *Plan) (*ApplyResult, error) {
		return nil, Errorf(KindFailed, "apply", errors.New("Error: boom"))
	}
	h.start()
	eventually(t, "both stacks failed", func() bool {
		return h.state("stacks/a").LastRun != nil && h.state("stacks/b").LastRun != nil
	})
	require.NoError(t, h.stop())
	require.NoError(t, h.store.Close())

	up := &recorder{}
	h2 := newHarness(t, dir, Options{Alerts: up}).start()
	eventually(t, "queued alerts delivered after the restart", func() bool { return len(up.kinds()) == 2 })
	require.NoError(t, h2.stop())
	assert.Equal(t, []EventKind{EventApplyFailed, EventApplyFailed}, up.kinds(), "no apply is retried at the same revision, so no new alert")
}

func TestShutdownLetsARunningApplyFinishWithinTheGrace(t *testing.T) {
	h := newHarness(t, t.TempDir(), Options{ShutdownGrace: time.Minute})
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	h.runner.ApplyFunc = func(ctx context.Context, spec RunSpec, plan *Plan) (*ApplyResult, error) {
		if spec.Stack.Name == "stacks/a" {
			once.Do(func() { close(started) })
			<-release // ignores ctx, like a Terraform apply that is almost done
		}
		return &ApplyResult{}, ctx.Err()
	}
	h.start()
	<-started
	stopped := make(chan error, 1)
	go func() { stopped <- h.stop() }()
	close(release)
	require.NoError(t, <-stopped)
	assert.Equal(t, ResultSucceeded, h.state("stacks/a").LastRun.Result, "the apply finished and was recorded")
}

func TestShutdownInterruptsTerraformAfterTheGrace(t *testing.T) {
	h := newHarness(t, t.TempDir(), Options{ShutdownGrace: 50 * time.Millisecond})
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
	h.start()
	<-started
	require.NoError(t, h.stop(), "Run returns nil after interrupting")
	st := h.state("stacks/a")
	require.NotNil(t, st.LastRun)
	assert.Equal(t, ResultInterrupted, st.LastRun.Result)
	assert.Empty(t, st.AppliedRev, "an interrupted apply is not recorded as applied")
	inflight, err := h.store.InFlight(context.Background())
	require.NoError(t, err)
	assert.Empty(t, inflight, "the interrupted run was recorded as finished")
}

func TestTransientFailuresBackOffAndRetry(t *testing.T) {
	h := newHarness(t, t.TempDir(), Options{})
	var calls atomic.Int32
	h.runner.PlanFunc = func(ctx context.Context, spec RunSpec) (*Plan, error) {
		if spec.Stack.Name == "stacks/a" && calls.Add(1) == 1 {
			return nil, Errorf(KindLocked, "plan", errors.New("Error acquiring the state lock"))
		}
		return &Plan{Complete: true}, nil
	}
	h.start()
	eventually(t, "a failed once", func() bool { return h.state("stacks/a").Failures == 1 })
	st := h.state("stacks/a")
	assert.True(t, st.LastRun.Transient)
	assert.WithinDuration(t, st.LastRun.Finished.Add(10*time.Second), st.RetryAt, time.Second, "a held lock is retried after a short wait")
}

// An apply from main converges a drifted stack, so it ends the drift episode and says so once.
func TestApplyOfANewRevisionResolvesRecordedDrift(t *testing.T) {
	alerts := &recorder{}
	h := newHarness(t, t.TempDir(), Options{
		Alerts: alerts,
		Drift:  DriftPolicy{Interval: 20 * time.Millisecond, Remediate: RemediateAlert},
	})
	var drifted atomic.Bool
	h.runner.PlanFunc = func(ctx context.Context, spec RunSpec) (*Plan, error) {
		if spec.Stack.Name == "stacks/a" && drifted.Load() {
			return &Plan{
				Complete: true,
				Drift:    []ResourceDrift{{Address: "local_file.a", Change: "deleted"}},
				Changes:  []ResourceChange{{Address: "local_file.a", Action: ActionCreate}},
			}, nil
		}
		return &Plan{Complete: true}, nil
	}
	h.runner.ApplyFunc = func(ctx context.Context, spec RunSpec, plan *Plan) (*ApplyResult, error) {
		if spec.Stack.Name == "stacks/a" {
			drifted.Store(false)
		}
		return &ApplyResult{}, nil
	}
	h.start()
	eventually(t, "a applied at r1", func() bool { return h.state("stacks/a").AppliedRev == "r1" })
	drifted.Store(true)
	eventually(t, "drift recorded", func() bool { return h.state("stacks/a").Drift.Drifted })

	h.src.commit("r2", map[string]string{"stacks/a/main.tf": "a2", "stacks/b/main.tf": "b1"})
	eventually(t, "a applied at r2", func() bool { return h.state("stacks/a").AppliedRev == "r2" })
	st := h.state("stacks/a")
	assert.False(t, st.Drift.Drifted, "the apply ended the drift episode")
	eventually(t, "drift resolved alerted", func() bool { return slices.Contains(alerts.kinds(), EventDriftResolved) })
	// Later checks find nothing new to say.
	time.Sleep(100 * time.Millisecond)
	var resolved []Event
	alerts.mu.Lock()
	for _, e := range alerts.events {
		if e.Kind == EventDriftResolved {
			resolved = append(resolved, e)
		}
	}
	alerts.mu.Unlock()
	require.Len(t, resolved, 1)
	assert.Equal(t, Revision("r2"), resolved[0].Revision)
	assert.Contains(t, resolved[0].Action, "corrected by the apply of r2")
	assert.Equal(t, []EventKind{EventDriftDetected, EventDriftResolved}, alerts.kinds())
}

// When main moves, the stacks it changed are decided first: their applies do not wait behind the
// bookkeeping of the stacks it left alone.
func TestChangedStacksAreQueuedFirst(t *testing.T) {
	h := newHarness(t, t.TempDir(), Options{Workers: 1})
	var aSyncedWhenBPlanned atomic.Value
	h.runner.PlanFunc = func(ctx context.Context, spec RunSpec) (*Plan, error) {
		if spec.Stack.Name == "stacks/b" && spec.Revision == "r2" {
			aSyncedWhenBPlanned.Store(h.state("stacks/a").SyncedRev)
		}
		return &Plan{Complete: true}, nil
	}
	h.start()
	eventually(t, "r1 applied", func() bool {
		return h.state("stacks/a").AppliedRev == "r1" && h.state("stacks/b").AppliedRev == "r1"
	})
	// Nothing may still run or wait when r2 lands: a worker busy with a at that moment would see r2
	// in its own decision and mark a synced, whatever the order of the queue.
	eventually(t, "the workers idle", func() bool {
		for _, name := range []string{"stacks/a", "stacks/b"} {
			st, err := h.rec.Stack(context.Background(), name)
			if err != nil || st.Running || st.Pending {
				return false
			}
		}
		return true
	})
	h.src.commit("r2", map[string]string{"stacks/a/main.tf": "a1", "stacks/b/main.tf": "b2"})
	eventually(t, "b applied at r2", func() bool { return h.state("stacks/b").AppliedRev == "r2" })
	eventually(t, "a synced to r2", func() bool { return h.state("stacks/a").SyncedRev == "r2" })
	assert.Equal(t, Revision("r1"), aSyncedWhenBPlanned.Load(), "b, which r2 changed, ran before a was marked synced")
	assert.Equal(t, Revision("r1"), h.state("stacks/a").AppliedRev, "a, which r2 left alone, did not run")
}
