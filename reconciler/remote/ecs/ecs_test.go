package ecs_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/remote"
	"github.com/trueup/trueup/reconciler/remote/ecs"
	"github.com/trueup/trueup/reconciler/remote/ecs/ecstest"
)

// local is the Terraform runner inside the played container.
type local struct {
	plan func(ctx context.Context, spec reconciler.RunSpec) (*reconciler.Plan, error)
}

func (l local) Plan(ctx context.Context, spec reconciler.RunSpec) (*reconciler.Plan, error) {
	return l.plan(ctx, spec)
}

func (l local) Apply(context.Context, reconciler.RunSpec, *reconciler.Plan) (*reconciler.ApplyResult, error) {
	return &reconciler.ApplyResult{TerraformTime: time.Second}, nil
}

func writePlan(_ context.Context, spec reconciler.RunSpec) (*reconciler.Plan, error) {
	f := filepath.Join(spec.DataDir, "plan.tfplan")
	if err := os.WriteFile(f, []byte("PLAN"), 0o600); err != nil {
		return nil, err
	}
	return &reconciler.Plan{File: f, Complete: true, Changes: []reconciler.ResourceChange{{Address: "x.y", Action: reconciler.ActionCreate}}}, nil
}

// agentContainer plays the container by running its command, `runner`, in this process: an Agent
// with the client the task's environment describes.
func agentContainer(t *testing.T, l local) ecstest.Container {
	return func(ctx context.Context, command []string, env map[string]string) (int, string) {
		if len(command) != 1 || command[0] != "runner" {
			return 2, "unexpected command"
		}
		a := &remote.Agent{
			Client:    &remote.Client{URL: env[remote.EnvControlURL], RunID: env[remote.EnvRunID], Token: env[remote.EnvRunToken]},
			NewRunner: func(remote.Job, *slog.Logger) (reconciler.Runner, error) { return l, nil },
		}
		if err := a.Run(ctx); err != nil {
			return 1, err.Error()
		}
		return 0, ""
	}
}

func newExecutor(t *testing.T, fake *ecstest.Server) *ecs.Executor {
	client := awsecs.NewFromConfig(awssdk.Config{
		Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
	}, func(o *awsecs.Options) { o.BaseEndpoint = awssdk.String(fake.URL); o.RetryMaxAttempts = 1 })
	ex, err := ecs.New(client, ecs.Options{
		Cluster: "infra", TaskDefinitions: map[remote.Purpose]string{remote.PurposePlan: "trueup-plan", remote.PurposeApply: "trueup-apply"},
		Subnets: []string{"subnet-a"}, SecurityGroups: []string{"sg-runner"}, PollInterval: 20 * time.Millisecond,
		Env: map[string]string{"TRUEUP_RUNNER_TERRAFORM": "/usr/local/bin/terraform"},
	})
	require.NoError(t, err)
	return ex
}

func newRunner(t *testing.T, ex remote.Executor, mod ...func(*remote.Options)) *remote.Runner {
	var url string
	opts := remote.Options{Executor: ex, URL: func() string { return url }, StartTimeout: 5 * time.Second,
		HeartbeatInterval: 50 * time.Millisecond, ReportTimeout: 2 * time.Second, StopTimeout: 5 * time.Second}
	for _, m := range mod {
		m(&opts)
	}
	r, err := remote.New(opts)
	require.NoError(t, err)
	srv := httptest.NewServer(r.Handler())
	t.Cleanup(srv.Close)
	url = srv.URL
	return r
}

func spec(t *testing.T) reconciler.RunSpec {
	work := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(work, "main.tf"), []byte("#\n"), 0o644))
	return reconciler.RunSpec{Stack: reconciler.Stack{Name: "app", Dir: ".", Workspace: "default"}, Workdir: work, DataDir: t.TempDir()}
}

func TestPlanAndApplyInECSTasks(t *testing.T) {
	fake := ecstest.New(t)
	fake.Run = agentContainer(t, local{plan: writePlan})
	r := newRunner(t, newExecutor(t, fake))
	s := spec(t)
	plan, err := r.Plan(context.Background(), s)
	require.NoError(t, err)
	assert.Equal(t, []reconciler.ResourceChange{{Address: "x.y", Action: reconciler.ActionCreate}}, plan.Changes)
	_, err = r.Apply(context.Background(), s, plan)
	require.NoError(t, err)

	require.Eventually(t, func() bool {
		tasks := fake.Tasks()
		return len(tasks) == 2 && tasks[0].LastStatus == "STOPPED" && tasks[1].LastStatus == "STOPPED"
	}, 5*time.Second, 10*time.Millisecond, "the tasks end by themselves after their results")
	tasks := fake.Tasks()
	for i, def := range []string{"trueup-plan", "trueup-apply"} {
		tk := tasks[i]
		assert.Equal(t, def, tk.TaskDefinition, "a task definition (and role) per purpose")
		assert.Equal(t, "infra", tk.Cluster)
		assert.Equal(t, "trueup", tk.StartedBy)
		assert.Equal(t, tk.Env[remote.EnvRunID], tk.ClientToken, "the run id is the client token")
		assert.Equal(t, "trueup", tk.Container)
		assert.Equal(t, []string{"runner"}, tk.Command)
		assert.NotEmpty(t, tk.Env[remote.EnvRunToken])
		assert.Equal(t, "/usr/local/bin/terraform", tk.Env["TRUEUP_RUNNER_TERRAFORM"])
		assert.Zero(t, *tk.ExitCode)
	}
	assert.Empty(t, fake.Stops(), "tasks that ended by themselves are not stopped")
}

func TestAStartRetriedWithTheSameRunIdStartsOneTask(t *testing.T) {
	fake := ecstest.New(t)
	ex := newExecutor(t, fake)
	l := remote.Launch{RunID: "0123abcd", URL: "http://trueup:8080", Token: "t", Purpose: remote.PurposePlan}
	_, err := ex.Start(context.Background(), l)
	require.NoError(t, err)
	_, err = ex.Start(context.Background(), l)
	require.NoError(t, err)
	assert.Len(t, fake.Tasks(), 1)
}

func TestATaskThatDiesIsReportedWithECSsReason(t *testing.T) {
	fake := ecstest.New(t)
	fake.Run = func(ctx context.Context, _ []string, env map[string]string) (int, string) {
		c := &remote.Client{URL: env[remote.EnvControlURL], RunID: env[remote.EnvRunID], Token: env[remote.EnvRunToken]}
		_, _ = c.Job(ctx)
		return 137, "OutOfMemoryError: Container killed due to memory usage"
	}
	_, err := newRunner(t, newExecutor(t, fake)).Plan(context.Background(), spec(t))
	require.Error(t, err)
	assert.Equal(t, reconciler.KindTransient, reconciler.KindOf(err))
	assert.Contains(t, err.Error(), "EssentialContainerExited")
	assert.Contains(t, err.Error(), "exited with 137: OutOfMemoryError: Container killed due to memory usage")
}

func TestATaskECSCannotPlaceFailsTheRun(t *testing.T) {
	fake := ecstest.New(t)
	fake.Fail["trueup-plan"] = "RESOURCE:MEMORY"
	_, err := newRunner(t, newExecutor(t, fake)).Plan(context.Background(), spec(t))
	require.Error(t, err)
	assert.Equal(t, reconciler.KindTransient, reconciler.KindOf(err))
	assert.Contains(t, err.Error(), "no task started: RESOURCE:MEMORY")
}

func TestATaskThatNeverStartsIsStopped(t *testing.T) {
	fake := ecstest.New(t) // no container ever runs
	r := newRunner(t, newExecutor(t, fake), func(o *remote.Options) { o.StartTimeout = 300 * time.Millisecond })
	_, err := r.Plan(context.Background(), spec(t))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the runner did not start")
	assert.Equal(t, []string{"trueup: never started"}, fake.Stops())
}

func TestCancelStopsTheTask(t *testing.T) {
	fake := ecstest.New(t)
	started := make(chan struct{})
	fake.Run = agentContainer(t, local{plan: func(ctx context.Context, _ reconciler.RunSpec) (*reconciler.Plan, error) {
		close(started)
		<-ctx.Done()
		return nil, reconciler.Errorf(reconciler.KindCanceled, "plan", ctx.Err())
	}})
	r := newRunner(t, newExecutor(t, fake))
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := r.Plan(ctx, spec(t)); errc <- err }()
	<-started
	cancel()
	err := <-errc
	require.Error(t, err)
	assert.Equal(t, reconciler.KindCanceled, reconciler.KindOf(err))
	assert.Contains(t, err.Error(), "runner stopped: context canceled")
	assert.Equal(t, []string{"trueup: canceled"}, fake.Stops())
	assert.Equal(t, "UserInitiated", fake.Tasks()[0].StopCode)
}
