package remote

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
)

func TestPlanThenApplyThroughTheProtocol(t *testing.T) {
	t.Setenv("TRUEUP_TEST_PASS_MAIN", "main-value")
	t.Setenv("TRUEUP_TEST_PASS_PLANS", "plans-value")
	var planSpec, applySpec reconciler.RunSpec
	var applied, tree string
	local := &fakeLocal{
		PlanFunc: func(ctx context.Context, spec reconciler.RunSpec) (*reconciler.Plan, error) {
			planSpec = spec
			b, _ := os.ReadFile(filepath.Join(spec.Workdir, "stacks", "a", "main.tf"))
			tree = string(b)
			return writingPlan("PLAN-1", reconciler.ResourceChange{Address: "local_file.a", Action: reconciler.ActionCreate})(ctx, spec)
		},
		ApplyFunc: func(_ context.Context, spec reconciler.RunSpec, plan *reconciler.Plan) (*reconciler.ApplyResult, error) {
			applySpec = spec
			b, err := os.ReadFile(plan.File)
			applied = string(b)
			return &reconciler.ApplyResult{TerraformTime: 2 * time.Second}, err
		},
	}
	ex := &agentExecutor{local: local}
	r := testRunner(t, ex, func(o *Options) {
		o.PassMain, o.PassPlans = []string{"TRUEUP_TEST_PASS_MAIN"}, []string{"TRUEUP_TEST_PASS_PLANS"}
		o.SharedFilesystem = true
	})
	spec := testSpec(t)
	spec.Render = true
	spec.Env = map[string]string{"AWS_ACCESS_KEY_ID": "plan-key"}

	plan, err := r.Plan(context.Background(), spec)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(spec.DataDir, PlanFileName), plan.File, "the plan file is where the local runner keeps it")
	assert.Equal(t, "PLAN-1", readFile(t, plan.File))
	assert.Equal(t, []reconciler.ResourceChange{{Address: "local_file.a", Action: reconciler.ActionCreate}}, plan.Changes)
	assert.True(t, plan.Complete)
	assert.Equal(t, "rendered PLAN-1", plan.Rendered)
	assert.Equal(t, 1500*time.Millisecond, plan.TerraformTime)

	// The runner worked in a checkout of its own, made from the daemon's tree.
	assert.NotEqual(t, spec.Workdir, planSpec.Workdir)
	assert.Equal(t, "# a\n", tree)
	assert.Equal(t, spec.Stack.Dir, planSpec.Stack.Dir)
	assert.Equal(t, spec.StatePath, planSpec.StatePath, "a shared filesystem keeps the state where it is")
	assert.Equal(t, spec.DataDir, planSpec.DataDir, "a shared filesystem: the daemon's data dir, where init is skipped when its inputs did not change")
	assert.True(t, planSpec.Render)
	assert.Equal(t, map[string]string{"AWS_ACCESS_KEY_ID": "plan-key", "TRUEUP_TEST_PASS_MAIN": "main-value"}, planSpec.Env)

	spec.Env = map[string]string{"AWS_ACCESS_KEY_ID": "apply-key"}
	res, err := r.Apply(context.Background(), spec, plan)
	require.NoError(t, err)
	assert.Equal(t, 2*time.Second, res.TerraformTime)
	assert.Equal(t, "PLAN-1", applied, "the apply runner got exactly the vetted plan file")
	assert.Equal(t, "apply-key", applySpec.Env["AWS_ACCESS_KEY_ID"], "the apply runner has the apply credentials")

	launches := ex.launched()
	require.Len(t, launches, 2)
	assert.Equal(t, PurposePlan, launches[0].Purpose)
	assert.Equal(t, PurposeApply, launches[1].Purpose)
	assert.NotEqual(t, launches[0].Token, launches[1].Token, "every run has its own token")
	assert.GreaterOrEqual(t, len(launches[0].Token), 43, "256 bits, base64url")
}

func TestUntrustedPlansGetThePlansEnvironmentAndAreNeverApplied(t *testing.T) {
	t.Setenv("TRUEUP_TEST_PASS_MAIN", "main-value")
	var got reconciler.RunSpec
	local := &fakeLocal{PlanFunc: func(ctx context.Context, spec reconciler.RunSpec) (*reconciler.Plan, error) {
		got = spec
		return writingPlan("PLAN")(ctx, spec)
	}}
	ex := &agentExecutor{local: local}
	r := testRunner(t, ex, func(o *Options) { o.PassMain = []string{"TRUEUP_TEST_PASS_MAIN"} })
	spec := testSpec(t)
	spec.Untrusted = true
	plan, err := r.Plan(context.Background(), spec)
	require.NoError(t, err)
	assert.True(t, got.Untrusted)
	assert.Empty(t, got.Env, "an untrusted run gets pass_env.plans only")
	assert.Empty(t, got.StatePath, "without a shared filesystem no state path is sent")
	assert.NotEqual(t, spec.DataDir, got.DataDir, "without a shared filesystem a data dir of the runner's own")
	assert.Empty(t, got.SeedDataDir)

	spec.Untrusted = false // even if asked as trusted: the file was never vetted
	_, err = r.Apply(context.Background(), spec, plan)
	require.Error(t, err)
	assert.Equal(t, reconciler.KindFailed, reconciler.KindOf(err))
	assert.Len(t, ex.launched(), 1, "no apply runner was started")
}

func TestApplyRefusesAPlanFileChangedSinceItWasVetted(t *testing.T) {
	ex := &agentExecutor{local: &fakeLocal{PlanFunc: writingPlan("PLAN-1")}}
	r := testRunner(t, ex)
	spec := testSpec(t)
	plan, err := r.Plan(context.Background(), spec)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(plan.File, []byte("PLAN-EVIL"), 0o600))

	_, err = r.Apply(context.Background(), spec, plan)
	require.Error(t, err)
	assert.Equal(t, reconciler.KindFailed, reconciler.KindOf(err))
	assert.Contains(t, err.Error(), "not the one its plan runner produced")
	assert.Len(t, ex.launched(), 1, "no apply runner was started")
}

func TestRunnerErrorsKeepTheirKind(t *testing.T) {
	for _, kind := range []reconciler.ErrorKind{reconciler.KindFailed, reconciler.KindLocked, reconciler.KindTransient} {
		t.Run(kind.String(), func(t *testing.T) {
			ex := &agentExecutor{local: &fakeLocal{PlanFunc: func(context.Context, reconciler.RunSpec) (*reconciler.Plan, error) {
				return nil, reconciler.Errorf(kind, "plan", errors.New("stacks/a: Error: something "+kind.String()))
			}}}
			_, err := testRunner(t, ex).Plan(context.Background(), testSpec(t))
			require.Error(t, err)
			assert.Equal(t, kind, reconciler.KindOf(err))
			assert.Equal(t, "plan: stacks/a: Error: something "+kind.String(), err.Error())
		})
	}
}

func TestRunnerThatNeverCallsFailsAfterTheStartTimeout(t *testing.T) {
	ex := &agentExecutor{behave: func(ctx context.Context, _ *Client) error { <-ctx.Done(); return ctx.Err() }}
	r := testRunner(t, ex, func(o *Options) { o.StartTimeout = 300 * time.Millisecond })
	_, err := r.Plan(context.Background(), testSpec(t))
	require.Error(t, err)
	assert.Equal(t, reconciler.KindTransient, reconciler.KindOf(err))
	assert.Contains(t, err.Error(), "the runner did not start")
	assert.Equal(t, []string{"never started"}, ex.stopped())
}

func TestRunnerThatStopsReportingFails(t *testing.T) {
	ex := &agentExecutor{behave: func(ctx context.Context, c *Client) error {
		if _, err := c.Job(ctx); err != nil {
			return err
		}
		<-ctx.Done() // hangs: no heartbeat, no result
		return ctx.Err()
	}}
	r := testRunner(t, ex, func(o *Options) { o.ReportTimeout = 400 * time.Millisecond })
	_, err := r.Plan(context.Background(), testSpec(t))
	require.Error(t, err)
	assert.Equal(t, reconciler.KindTransient, reconciler.KindOf(err))
	assert.Contains(t, err.Error(), "the runner stopped reporting")
	assert.Equal(t, []string{"stopped reporting"}, ex.stopped())
}

func TestHeartbeatsKeepASlowRunAlive(t *testing.T) {
	ex := &agentExecutor{local: &fakeLocal{PlanFunc: func(ctx context.Context, spec reconciler.RunSpec) (*reconciler.Plan, error) {
		time.Sleep(1200 * time.Millisecond) // three report timeouts
		return writingPlan("SLOW")(ctx, spec)
	}}}
	r := testRunner(t, ex, func(o *Options) { o.ReportTimeout = 400 * time.Millisecond })
	_, err := r.Plan(context.Background(), testSpec(t))
	require.NoError(t, err)
}

func TestRunnerThatDiesIsATransientFailureWithThePlatformsReason(t *testing.T) {
	ex := &agentExecutor{behave: func(ctx context.Context, c *Client) error {
		_, _ = c.Job(ctx)
		return errors.New("task stopped: OutOfMemoryError: container killed due to memory usage")
	}}
	_, err := testRunner(t, ex).Plan(context.Background(), testSpec(t))
	require.Error(t, err)
	assert.Equal(t, reconciler.KindTransient, reconciler.KindOf(err))
	assert.Contains(t, err.Error(), "ended without a result: task stopped: OutOfMemoryError")
}

func TestCancelStopsTheRunnerAndKillsItsToken(t *testing.T) {
	running := make(chan *Client, 1)
	ex := &agentExecutor{behave: func(ctx context.Context, c *Client) error {
		if _, err := c.Job(ctx); err != nil {
			return err
		}
		running <- c
		<-ctx.Done()
		return ctx.Err()
	}}
	r := testRunner(t, ex)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := r.Plan(ctx, testSpec(t)); errc <- err }()
	c := <-running
	cancel()
	err := <-errc
	require.Error(t, err)
	assert.Equal(t, reconciler.KindCanceled, reconciler.KindOf(err))
	assert.Equal(t, []string{"canceled"}, ex.stopped())

	// A late result from the superseded runner is refused: its token died with the run.
	err = c.Result(context.Background(), Result{Error: &ErrorResult{Kind: "failed", Message: "late"}})
	require.ErrorIs(t, err, ErrRunGone)
}

func TestMaxParallelBoundsRunsInFlight(t *testing.T) {
	var mu = make(chan struct{}, 1)
	inFlight, most := 0, 0
	local := &fakeLocal{PlanFunc: func(ctx context.Context, spec reconciler.RunSpec) (*reconciler.Plan, error) {
		mu <- struct{}{}
		inFlight++
		most = max(most, inFlight)
		<-mu
		time.Sleep(100 * time.Millisecond)
		mu <- struct{}{}
		inFlight--
		<-mu
		return writingPlan("P")(ctx, spec)
	}}
	r := testRunner(t, &agentExecutor{local: local}, func(o *Options) { o.MaxParallel = 2 })
	errc := make(chan error, 6)
	for range 6 {
		go func() { _, err := r.Plan(context.Background(), testSpec(t)); errc <- err }()
	}
	for range 6 {
		require.NoError(t, <-errc)
	}
	assert.Equal(t, 2, most)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

func TestATreeWithASymlinkOutOfItIsRefusedByTheRunner(t *testing.T) {
	ran := false
	ex := &agentExecutor{local: &fakeLocal{PlanFunc: func(ctx context.Context, spec reconciler.RunSpec) (*reconciler.Plan, error) {
		ran = true
		return writingPlan("P")(ctx, spec)
	}}}
	spec := testSpec(t)
	// Branch code committed a link to a file of the host (git keeps symlinks as they are).
	require.NoError(t, os.Symlink("/etc/passwd", filepath.Join(spec.Workdir, "stacks", "a", "passwd")))
	_, err := testRunner(t, ex).Plan(context.Background(), spec)
	require.Error(t, err)
	assert.Equal(t, reconciler.KindFailed, reconciler.KindOf(err))
	assert.Contains(t, err.Error(), `fetch tree: unpack tree: entry "stacks/a/passwd": a symlink to "/etc/passwd" points outside the tree`)
	assert.False(t, ran, "Terraform never ran")
}

func TestAPlanFileReplacedByASymlinkIsNotSent(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(secret, []byte("daemon's secret"), 0o600))
	ex := &agentExecutor{local: &fakeLocal{PlanFunc: func(_ context.Context, spec reconciler.RunSpec) (*reconciler.Plan, error) {
		// Branch code, which can write its data dir, swaps the plan file for a link to a secret.
		f := filepath.Join(spec.DataDir, "plan.tfplan")
		return &reconciler.Plan{File: f, Complete: true}, os.Symlink(secret, f)
	}}}
	spec := testSpec(t)
	spec.Untrusted = true
	_, err := testRunner(t, ex).Plan(context.Background(), spec)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "read the plan file")
	_, statErr := os.Stat(filepath.Join(spec.DataDir, PlanFileName))
	assert.True(t, os.IsNotExist(statErr), "nothing reached the daemon")
}
