package remote

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
)

// restartable is a daemon that can crash and come back: runners reach whichever Runner is
// current at one URL, and a crashed Runner can no longer stop anything.
type restartable struct {
	t       *testing.T
	ex      *agentExecutor
	key     []byte
	srv     *httptest.Server
	current atomic.Pointer[Runner]
	crashed atomic.Bool
	mod     []func(*Options)
}

func newRestartable(t *testing.T, ex *agentExecutor, mod ...func(*Options)) *restartable {
	d := &restartable{t: t, ex: ex, key: []byte("0123456789abcdef0123456789abcdef"), mod: mod}
	d.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		d.current.Load().Handler().ServeHTTP(w, req)
	}))
	t.Cleanup(d.srv.Close)
	d.current.Store(d.start(&crashable{ex: ex, crashed: &d.crashed}))
	return d
}

// start makes a new Runner, as a trueup (re)starting; it answers runners once made current.
func (d *restartable) start(ex Executor) *Runner {
	opts := Options{Executor: ex, URL: func() string { return d.srv.URL }, StartTimeout: 5 * time.Second, AdoptKey: d.key,
		HeartbeatInterval: 50 * time.Millisecond, ReportTimeout: 5 * time.Second, StopTimeout: 5 * time.Second, SpoolDir: d.t.TempDir()}
	for _, m := range d.mod {
		m(&opts)
	}
	r, err := New(opts)
	require.NoError(d.t, err)
	r.exitGrace = 200 * time.Millisecond
	return r
}

// crash loses the current Runner (its runs, its tokens) without stopping any runner, and starts
// a new one that adopts what is in flight before it answers runners (as trueup listens only
// after adopting).
func (d *restartable) crash() (*Runner, int) {
	d.crashed.Store(true)
	r := d.start(d.ex)
	n, err := r.Adopt(context.Background())
	require.NoError(d.t, err)
	d.current.Store(r)
	return r, n
}

// crashable is the executor of a daemon that may crash: once it has, its tasks' Stop does nothing.
type crashable struct {
	ex      Executor
	crashed *atomic.Bool
}

func (c *crashable) Start(ctx context.Context, l Launch) (Task, error) {
	t, err := c.ex.Start(ctx, l)
	if err != nil {
		return nil, err
	}
	return &crashableTask{Task: t, crashed: c.crashed}, nil
}

type crashableTask struct {
	Task
	crashed *atomic.Bool
}

func (t *crashableTask) Stop(ctx context.Context, reason string) error {
	if t.crashed.Load() {
		return nil
	}
	return t.Task.Stop(ctx, reason)
}

// blockingPlan is a local plan that signals it started, then waits for release.
func blockingPlan(started chan<- struct{}, release <-chan struct{}, content string) func(context.Context, reconciler.RunSpec) (*reconciler.Plan, error) {
	return func(ctx context.Context, spec reconciler.RunSpec) (*reconciler.Plan, error) {
		started <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return writingPlan(content)(ctx, spec)
	}
}

func TestARunnerInFlightAtACrashIsAdoptedAndItsPlanClaimedByTheSameDispatch(t *testing.T) {
	started, release := make(chan struct{}, 1), make(chan struct{})
	ex := &agentExecutor{local: &fakeLocal{PlanFunc: blockingPlan(started, release, "PLAN-ADOPTED")}}
	d := newRestartable(t, ex)
	spec := testSpec(t)

	ctx, cancel := context.WithCancel(context.Background())
	before := make(chan error, 1)
	go func() { _, err := d.current.Load().Plan(ctx, spec); before <- err }()
	<-started // the runner is mid-plan when trueup dies
	r, n := d.crash()
	cancel()
	require.Error(t, <-before)
	require.Equal(t, 1, n, "the runner in flight is adopted")

	done := make(chan struct{})
	var plan *reconciler.Plan
	var err error
	go func() { defer close(done); plan, err = r.Plan(context.Background(), spec) }()
	close(release)
	<-done
	require.NoError(t, err)
	assert.Equal(t, "PLAN-ADOPTED", readFile(t, plan.File), "the adopted runner's plan file became the stack's")
	assert.Len(t, ex.launched(), 1, "no second runner for the same run")

	// The adopted plan is vetted like any trusted plan: it can be applied.
	ex.local.ApplyFunc = func(context.Context, reconciler.RunSpec, *reconciler.Plan) (*reconciler.ApplyResult, error) {
		return &reconciler.ApplyResult{}, nil
	}
	_, err = r.Apply(context.Background(), spec, plan)
	require.NoError(t, err)
}

func TestARunnerThatHadNotFetchedItsJobWaitsForTheClaim(t *testing.T) {
	gate := make(chan struct{})
	ex := &agentExecutor{local: &fakeLocal{PlanFunc: writingPlan("PLAN-LATE")}, gate: gate}
	d := newRestartable(t, ex)
	spec := testSpec(t)

	ctx, cancel := context.WithCancel(context.Background())
	before := make(chan error, 1)
	go func() { _, err := d.current.Load().Plan(ctx, spec); before <- err }()
	require.Eventually(t, func() bool { return len(ex.launched()) == 1 }, 10*time.Second, 10*time.Millisecond)
	r, n := d.crash()
	cancel()
	<-before
	require.Equal(t, 1, n)

	close(gate) // the runner asks for its job before anyone claimed it: 503, and it asks again
	time.Sleep(100 * time.Millisecond)
	plan, err := r.Plan(context.Background(), spec)
	require.NoError(t, err)
	assert.Equal(t, "PLAN-LATE", readFile(t, plan.File))
	assert.Len(t, ex.launched(), 1)
}

func TestAnUnclaimedAdoptedPlanIsStoppedAfterTheGraceAndItsTokenDies(t *testing.T) {
	started, release := make(chan struct{}, 1), make(chan struct{})
	defer close(release)
	ex := &agentExecutor{local: &fakeLocal{PlanFunc: blockingPlan(started, release, "X")}}
	d := newRestartable(t, ex, func(o *Options) { o.AdoptGrace = 300 * time.Millisecond })
	spec := testSpec(t)

	ctx, cancel := context.WithCancel(context.Background())
	go func() { _, _ = d.current.Load().Plan(ctx, spec) }()
	<-started
	_, n := d.crash()
	cancel()
	require.Equal(t, 1, n)

	require.Eventually(t, func() bool { return len(ex.stopped()) == 1 }, 10*time.Second, 10*time.Millisecond,
		"a plan nobody claims is stopped")
	assert.Equal(t, "not claimed after a restart", ex.stopped()[0])
	l := ex.launched()[0]
	c := &Client{URL: d.srv.URL, RunID: l.RunID, Token: l.Token}
	assert.ErrorIs(t, c.Heartbeat(context.Background()), ErrRunGone, "its token is dead")
}

func TestAnAdoptedApplyIsNeverInterruptedAndTheStackWaitsForIt(t *testing.T) {
	applying, finish := make(chan struct{}, 1), make(chan struct{})
	var applied atomic.Int32
	local := &fakeLocal{
		PlanFunc: writingPlan("P"),
		ApplyFunc: func(ctx context.Context, _ reconciler.RunSpec, _ *reconciler.Plan) (*reconciler.ApplyResult, error) {
			applying <- struct{}{}
			select {
			case <-finish:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			applied.Add(1)
			return &reconciler.ApplyResult{}, nil
		},
	}
	ex := &agentExecutor{local: local}
	d := newRestartable(t, ex, func(o *Options) { o.AdoptGrace = 100 * time.Millisecond })
	spec := testSpec(t)
	plan, err := d.current.Load().Plan(context.Background(), spec)
	require.NoError(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	go func() { _, _ = d.current.Load().Apply(ctx, spec, plan) }()
	<-applying
	require.Eventually(t, func() bool { f, _ := ex.InFlight(ctx); return len(f) == 1 }, 10*time.Second, 10*time.Millisecond,
		"the plan runner has exited")
	r, n := d.crash()
	cancel()
	require.Equal(t, 1, n)

	// After the restart the reconciler plans the stack again: that waits for the apply.
	replanned := make(chan error, 1)
	go func() { _, err := r.Plan(context.Background(), spec); replanned <- err }()
	time.Sleep(500 * time.Millisecond) // well past the grace
	select {
	case err := <-replanned:
		t.Fatalf("a plan ran while the adopted apply was in flight: %v", err)
	default:
	}
	assert.Empty(t, ex.stopped(), "an apply is never interrupted")
	close(finish)
	require.NoError(t, <-replanned)
	assert.Equal(t, int32(1), applied.Load())
	assert.Len(t, ex.launched(), 3, "plan, apply, and the plan after the restart")
}

func TestForgedOrForeignRunnersAreNeverAdopted(t *testing.T) {
	started, release := make(chan struct{}, 1), make(chan struct{})
	defer close(release)
	ex := &agentExecutor{local: &fakeLocal{PlanFunc: blockingPlan(started, release, "X")}}
	d := newRestartable(t, ex)
	spec := testSpec(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _, _ = d.current.Load().Plan(ctx, spec) }()
	<-started
	real := ex.launched()[0]

	forged := func(mutate func(id *string, m map[string]string)) InFlight {
		m := map[string]string{}
		for k, v := range real.Meta {
			m[k] = v
		}
		id := real.RunID
		mutate(&id, m)
		return InFlight{RunID: id, Meta: m, Task: &goTask{done: make(chan struct{}), cancel: func() {}, e: ex}}
	}
	attacker := "a1b2c3d4e5f60718293a4b5c6d7e8f90"
	cases := map[string]InFlight{
		"another run id under a copied seal": forged(func(id *string, _ map[string]string) { *id = attacker }),
		"a token digest of the attacker's": forged(func(_ *string, m map[string]string) {
			m[metaToken] = "0000000000000000000000000000000000000000000000000000000000000000"
		}),
		"no seal":              forged(func(_ *string, m map[string]string) { delete(m, metaSeal) }),
		"purpose changed":      forged(func(_ *string, m map[string]string) { m[metaPurpose] = string(PurposeApply) }),
		"an id that is a path": forged(func(id *string, _ map[string]string) { *id = "../../etc" }),
	}
	r := d.start(&listed{cases: cases})
	n, err := r.Adopt(context.Background())
	require.NoError(t, err)
	assert.Zero(t, n, "nothing forged is adopted")

	// Another trueup's key (or none) seals differently.
	other := d.start(ex)
	other.adoptKey = []byte("another key, another trueup......")
	n, err = other.Adopt(context.Background())
	require.NoError(t, err)
	assert.Zero(t, n)
	d.current.Store(other)
	c := &Client{URL: d.srv.URL, RunID: attacker, Token: "whatever"}
	assert.ErrorIs(t, c.Heartbeat(context.Background()), ErrRunGone)
}

// listed is an executor whose platform lists the given runners.
type listed struct{ cases map[string]InFlight }

func (l *listed) Start(context.Context, Launch) (Task, error) { panic("not started here") }

func (l *listed) InFlight(context.Context) ([]InFlight, error) {
	var out []InFlight
	for _, f := range l.cases {
		out = append(out, f)
	}
	return out, nil
}
