package ecs_test

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
	"github.com/trueup/trueup/reconciler/remote"
	"github.com/trueup/trueup/reconciler/remote/ecs/ecstest"
)

func TestATrueupThatRestartsAdoptsItsTasksByStartedByAndTags(t *testing.T) {
	fake := ecstest.New(t)
	started, release := make(chan struct{}, 1), make(chan struct{})
	fake.Run = agentContainer(t, local{plan: func(ctx context.Context, s reconciler.RunSpec) (*reconciler.Plan, error) {
		started <- struct{}{}
		<-release
		return writePlan(ctx, s)
	}})
	// Runners reach trueup at one address, whichever process answers there.
	var current atomic.Pointer[remote.Runner]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		current.Load().Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	key := []byte("an adoption key kept in the data")
	newRunner := func() *remote.Runner {
		r, err := remote.New(remote.Options{Executor: newExecutor(t, fake), URL: func() string { return srv.URL }, AdoptKey: key,
			StartTimeout: 5 * time.Second, HeartbeatInterval: 50 * time.Millisecond, ReportTimeout: time.Minute, SpoolDir: t.TempDir()})
		require.NoError(t, err)
		return r
	}
	s := spec(t)
	first := newRunner()
	current.Store(first)
	go func() { _, _ = first.Plan(context.Background(), s) }() // this trueup dies mid-plan
	<-started

	// A task on the cluster that trueup did not start: not one of its runs, whatever it claims.
	orig := fake.Tasks()[0]
	forged := map[string]string{}
	for k, v := range orig.Tags {
		forged[k] = v
	}
	forged["trueup.dev/run-id"] = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
	fake.Add(ecstest.Task{ARN: "arn:aws:ecs:us-east-1:123456789012:task/infra/forged", Cluster: "infra", StartedBy: "trueup",
		TaskDefinition: "trueup-apply", Tags: forged})

	// The next trueup adopts before it answers runners (it listens only then).
	r := newRunner()
	n, err := r.Adopt(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, n, "trueup's own task is adopted, the forged one is not")
	current.Store(r)

	done := make(chan error, 1)
	var plan *reconciler.Plan
	go func() { var err error; plan, err = r.Plan(context.Background(), s); done <- err }()
	close(release)
	require.NoError(t, <-done)
	assert.Equal(t, []reconciler.ResourceChange{{Address: "x.y", Action: reconciler.ActionCreate}}, plan.Changes)
	assert.Len(t, fake.Tasks(), 2, "no second task for the same run (the other is the forged one)")
	assert.Equal(t, orig.ClientToken, orig.Tags["trueup.dev/run-id"], "the run id is tagged, as ECS does not return the client token")
	assert.NotContains(t, orig.Tags, remote.EnvRunToken)
	for k, v := range orig.Tags {
		assert.NotEqual(t, orig.Env[remote.EnvRunToken], v, "tag %s holds the run token", k)
	}
	assert.Empty(t, fake.Stops(), "nothing was stopped: the forged task is not trueup's to stop")
}
