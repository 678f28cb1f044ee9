package kubernetes_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/remote"
	"github.com/trueup/trueup/reconciler/remote/kubernetes/kubetest"
)

// planner is the Terraform runner inside a played container: it writes a plan file.
type planner struct {
	plan func(ctx context.Context, spec reconciler.RunSpec) error
}

func (p planner) Plan(ctx context.Context, spec reconciler.RunSpec) (*reconciler.Plan, error) {
	if err := p.plan(ctx, spec); err != nil {
		return nil, err
	}
	f := filepath.Join(spec.DataDir, "plan.tfplan")
	if err := os.WriteFile(f, []byte("PLAN"), 0o600); err != nil {
		return nil, err
	}
	return &reconciler.Plan{File: f, Complete: true, Changes: []reconciler.ResourceChange{{Address: "x.y", Action: reconciler.ActionCreate}}}, nil
}

func (planner) Apply(context.Context, reconciler.RunSpec, *reconciler.Plan) (*reconciler.ApplyResult, error) {
	return &reconciler.ApplyResult{}, nil
}

// agent plays a container by running its command, `trueup runner`, in this process: an Agent with
// the client the pod's environment and token file describe.
func agent(local reconciler.Runner) func(ctx context.Context, c kubetest.Container) kubetest.Exit {
	return func(ctx context.Context, c kubetest.Container) kubetest.Exit {
		a := &remote.Agent{
			Client:    &remote.Client{URL: c.Env[remote.EnvControlURL], RunID: c.Env[remote.EnvRunID], Token: tokenOf(c), RetryDelay: 50 * time.Millisecond},
			NewRunner: func(remote.Job, *slog.Logger) (reconciler.Runner, error) { return local, nil },
		}
		if err := a.Run(ctx); err != nil {
			return kubetest.Exit{Code: 1, Reason: "Error", Message: err.Error()}
		}
		return kubetest.Exit{Reason: "Completed"}
	}
}

// A trueup that restarts mid-plan finds its Job by its label and sealed annotations, and the next
// dispatch of the same plan claims it: one Job, whose result is the plan's. A Job made to look like
// it (the same labels and annotations, another run's name) is neither adopted nor deleted.
func TestATrueupThatRestartsAdoptsItsJob(t *testing.T) {
	cl := newCluster(t)
	started, release := make(chan struct{}, 1), make(chan struct{})
	cl.kubelet(t, agent(planner{plan: func(ctx context.Context, _ reconciler.RunSpec) error {
		started <- struct{}{}
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}}))
	// Runners reach trueup at one address, whichever process answers there.
	var current atomic.Pointer[remote.Runner]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		current.Load().Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	key := []byte("an adoption key kept in the data")
	newRunner := func() *remote.Runner {
		r, err := remote.New(remote.Options{Executor: cl.executor(t), URL: func() string { return srv.URL }, AdoptKey: key,
			StartTimeout: time.Minute, HeartbeatInterval: 50 * time.Millisecond, ReportTimeout: time.Minute, SpoolDir: t.TempDir()})
		require.NoError(t, err)
		return r
	}
	s := emptySpec(t)
	first := newRunner()
	current.Store(first)
	go func() { _, _ = first.Plan(context.Background(), s) }() // this trueup dies mid-plan
	<-started

	jobs := cl.jobs(t)
	require.Len(t, jobs, 1)
	orig := jobs[0]
	forgedID := runID()
	forged := foreignJob("trueup-run-"+forgedID, map[string]string{
		"app.kubernetes.io/managed-by": "trueup", "trueup.dev/run-id": forgedID, "trueup.dev/purpose": "apply"})
	forged.Annotations = orig.Annotations
	_, err := cl.c.BatchV1().Jobs(cl.ns).Create(context.Background(), forged, metav1.CreateOptions{})
	require.NoError(t, err)

	// The next trueup adopts before it answers runners (it listens only then).
	r := newRunner()
	n, err := r.Adopt(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, n, "trueup's own Job is adopted, the forged one is not")
	current.Store(r)

	done := make(chan error, 1)
	var plan *reconciler.Plan
	go func() { var err error; plan, err = r.Plan(context.Background(), s); done <- err }()
	close(release)
	require.NoError(t, <-done)
	assert.Equal(t, []reconciler.ResourceChange{{Address: "x.y", Action: reconciler.ActionCreate}}, plan.Changes)

	var names []string
	for _, j := range cl.jobs(t) {
		names = append(names, j.Name)
	}
	assert.ElementsMatch(t, []string{orig.Name, forged.Name}, names, "no second Job for the same run; the forged one is untouched")
}
