package remote

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
)

// fakeLocal is the local Terraform runner inside a runner, with Func fields.
type fakeLocal struct {
	PlanFunc  func(ctx context.Context, spec reconciler.RunSpec) (*reconciler.Plan, error)
	ApplyFunc func(ctx context.Context, spec reconciler.RunSpec, plan *reconciler.Plan) (*reconciler.ApplyResult, error)
}

var _ reconciler.Runner = (*fakeLocal)(nil)

func (f *fakeLocal) Plan(ctx context.Context, spec reconciler.RunSpec) (*reconciler.Plan, error) {
	return f.PlanFunc(ctx, spec)
}

func (f *fakeLocal) Apply(ctx context.Context, spec reconciler.RunSpec, plan *reconciler.Plan) (*reconciler.ApplyResult, error) {
	return f.ApplyFunc(ctx, spec, plan)
}

// agentExecutor "starts" a runner by running an Agent in a goroutine of the test: the protocol is
// real (HTTP to the daemon's handler), only the process is not.
type agentExecutor struct {
	local *fakeLocal
	// behave, when set, replaces the Agent: it gets the client and the task's context.
	behave func(ctx context.Context, c *Client) error
	// gate, when set, holds every runner before it makes its first call.
	gate chan struct{}

	mu       sync.Mutex
	launches []Launch
	stops    []string
	tasks    []*goTask
}

// InFlight lists the runners that have not ended, as a platform would (it makes agentExecutor an Adopter).
func (e *agentExecutor) InFlight(context.Context) ([]InFlight, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []InFlight
	for i, t := range e.tasks {
		select {
		case <-t.done:
		default:
			out = append(out, InFlight{RunID: e.launches[i].RunID, Meta: e.launches[i].Meta, Task: t})
		}
	}
	return out, nil
}

func (e *agentExecutor) Start(_ context.Context, l Launch) (Task, error) {
	ctx, cancel := context.WithCancel(context.Background())
	t := &goTask{cancel: cancel, done: make(chan struct{}), e: e}
	e.mu.Lock()
	e.launches = append(e.launches, l)
	e.tasks = append(e.tasks, t)
	e.mu.Unlock()
	c := &Client{URL: l.URL, RunID: l.RunID, Token: l.Token, RetryDelay: 10 * time.Millisecond}
	go func() {
		defer close(t.done)
		if e.gate != nil {
			select {
			case <-e.gate:
			case <-ctx.Done():
				t.err = ctx.Err()
				return
			}
		}
		if e.behave != nil {
			t.err = e.behave(ctx, c)
			return
		}
		a := &Agent{Client: c, NewRunner: func(Job, *slog.Logger) (reconciler.Runner, error) { return e.local, nil }}
		t.err = a.Run(ctx)
	}()
	return t, nil
}

func (e *agentExecutor) launched() []Launch {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Launch(nil), e.launches...)
}

func (e *agentExecutor) stopped() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.stops...)
}

type goTask struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error
	e      *agentExecutor
}

func (t *goTask) Wait(ctx context.Context) error {
	select {
	case <-t.done:
		return t.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (t *goTask) Stop(ctx context.Context, reason string) error {
	t.e.mu.Lock()
	t.e.stops = append(t.e.stops, reason)
	t.e.mu.Unlock()
	t.cancel()
	select {
	case <-t.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// testRunner is a remote Runner over ex, served by an httptest server.
func testRunner(t *testing.T, ex Executor, mod ...func(*Options)) *Runner {
	t.Helper()
	var srvURL string
	opts := Options{Executor: ex, URL: func() string { return srvURL }, StartTimeout: 5 * time.Second,
		HeartbeatInterval: 50 * time.Millisecond, ReportTimeout: 2 * time.Second, StopTimeout: 5 * time.Second}
	for _, m := range mod {
		m(&opts)
	}
	r, err := New(opts)
	require.NoError(t, err)
	r.exitGrace = 200 * time.Millisecond
	srv := httptest.NewServer(r.Handler())
	t.Cleanup(srv.Close)
	srvURL = srv.URL
	return r
}

// testSpec is a checkout with one stack and a data dir, as the reconciler prepares them.
func testSpec(t *testing.T) reconciler.RunSpec {
	t.Helper()
	work := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(work, "stacks", "a"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(work, "stacks", "a", "main.tf"), []byte("# a\n"), 0o644))
	return reconciler.RunSpec{
		Stack:    reconciler.Stack{Name: "stacks/a", Dir: "stacks/a", Workspace: "default"},
		Revision: "0123456789abcdef0123456789abcdef01234567", Workdir: work, DataDir: filepath.Join(t.TempDir(), "tfdata"),
		StatePath: "/state/terraform.tfstate",
	}
}

// writingPlan is a local plan that writes content as its plan file and returns changes.
func writingPlan(content string, changes ...reconciler.ResourceChange) func(context.Context, reconciler.RunSpec) (*reconciler.Plan, error) {
	return func(_ context.Context, spec reconciler.RunSpec) (*reconciler.Plan, error) {
		f := filepath.Join(spec.DataDir, "plan.tfplan")
		if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
			return nil, err
		}
		return &reconciler.Plan{File: f, Changes: changes, Complete: true, Rendered: "rendered " + content, TerraformTime: 1500 * time.Millisecond}, nil
	}
}

var errBoom = errors.New("boom")
