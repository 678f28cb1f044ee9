package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/git/gittest"
	"github.com/trueup/trueup/reconciler/remote/ecs/ecstest"
	"github.com/trueup/trueup/reconciler/terraform/tftest"
)

// withProcessExecutor runs every Terraform run in a `trueup runner` child process of the real binary,
// through the runner protocol.
func withProcessExecutor(t *testing.T) func(*Config) {
	bin := opsBinary(t)
	return func(cfg *Config) {
		cfg.Runner.Executor = executorProcess
		cfg.Runner.Process.Binary = bin
	}
}

func TestProcessExecutorMergedChangesApplyExactlyTheAffectedStacks(t *testing.T) {
	mergedChangesApplyExactlyTheAffectedStacks(t, withProcessExecutor(t))
}

func TestProcessExecutorPullRequestCommentStatusesAndMerge(t *testing.T) {
	pullRequestCommentStatusesAndMerge(t, withProcessExecutor(t))
}

func TestProcessExecutorPullRequestMergeHeldUntilApproved(t *testing.T) {
	pullRequestMergeHeldUntilApproved(t, withProcessExecutor(t))
}

// Branch code planned by a runner process is sandboxed as the local runner's is, and reaches no
// secret: not the daemon's, not the apply role's, not its runner's token.
func TestProcessExecutorUntrustedPullRequestReachesNoSecret(t *testing.T) {
	untrustedPullRequestReachesNoSecret(t, withProcessExecutor(t))
}

// The shutdown grace holds for runners too: after it, the runner is told to stop, its Terraform is
// interrupted, and the apply is recorded as interrupted. The daemon is the real binary, and runs its
// own executable as `trueup runner` (runner.process.binary unset).
func TestProcessExecutorShutdownInterruptsTerraformAfterTheGracePeriod(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: real binary, git and Terraform")
	}
	p := opsShutdownInterruptsTerraformAfterTheGracePeriod(t, "runner:\n  executor: process\n")
	assert.Equal(t, 1, p.logs.count("Terraform runs in trueup runners", "executor", "process"))
	assert.NotZero(t, p.logs.count("runner", "stack", "stacks/slow"), "the apply ran in a runner")
}

// A drift check runs in a runner too, and its correction applies exactly the checked plan.
func TestProcessExecutorDriftIsCorrected(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: real git and Terraform")
	}
	out := t.TempDir()
	remote := gittest.NewRemote(t)
	remote.CommitAndPush("one stack", map[string]string{"stacks/fix/main.tf": localStack(out, "fix", "fix-v1", "")})
	cfg := testConfig(t, remote.URL(), t.TempDir())
	cfg.Drift.Interval = time.Second
	withProcessExecutor(t)(&cfg)
	d := startDaemon(t, cfg)
	d.waitFor("the stack applied", func() bool { return d.logs.count("apply finished", "result", "succeeded") == 1 })
	assert.NotZero(t, d.logs.count("runner", "stack", "stacks/fix"), "the runner's log lines reach the daemon's log")

	require.NoError(t, os.Remove(filepath.Join(out, "fix.txt")))
	d.waitFor("the drift corrected", func() bool { return d.logs.count("drift corrected", "stack", "stacks/fix") == 1 })
	assert.Equal(t, "fix-v1", readFile(t, filepath.Join(out, "fix.txt")))
	require.NoError(t, d.stop())
}

// binaryContainer plays an ECS task's container by running its command with the real trueup
// binary, with the task's environment and what the task definition would add (Terraform's place).
func binaryContainer(t *testing.T, bin string) ecstest.Container {
	terraformBin, rc := tftest.Tools(t)
	return func(ctx context.Context, command []string, env map[string]string) (int, string) {
		cmd := exec.CommandContext(ctx, bin, command...)
		cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "TRUEUP_RUNNER_TERRAFORM=" + terraformBin, "TF_CLI_CONFIG_FILE=" + rc}
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			return cmd.ProcessState.ExitCode(), string(out)
		}
		return 0, ""
	}
}

// With runner.executor: ecs every run is an ECS task (here a fake ECS whose containers run the
// real binary): a stack with a backend of its own is applied as with the local executor.
func TestECSExecutorAppliesMergedChanges(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: real git and Terraform")
	}
	fake := ecstest.New(t)
	fake.Run = binaryContainer(t, opsBinary(t))
	for _, kv := range fakeECSEnv(t, fake) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	out := t.TempDir()
	remote := backendStackRepo(t, out)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	cfg := testConfig(t, remote.URL(), t.TempDir())
	cfg.Listen = addr
	cfg.Runner = RunnerConfig{Executor: executorECS, MaxParallel: 4, CallbackURL: "http://" + addr,
		ECS: ECSRunnerConfig{Cluster: "infra", Subnets: []string{"subnet-a"}, TaskDefinitions: ECSTaskDefinitions{Plan: "trueup-plan", Apply: "trueup-apply"}}}
	d := startDaemon(t, cfg)
	d.waitFor("the first apply", func() bool { return d.logs.count("apply finished", "result", "succeeded") == 1 })
	assert.Equal(t, "v1", readFile(t, filepath.Join(out, "app.txt")))

	remote.CommitAndPush("app v2", map[string]string{"stacks/app/main.tf": localStack(out, "app", "v2", "")})
	d.waitFor("the change applied", func() bool { return d.logs.count("apply finished", "result", "succeeded") == 2 })
	assert.Equal(t, "v2", readFile(t, filepath.Join(out, "app.txt")))
	require.NoError(t, d.stop())

	var defs []string
	for _, tk := range fake.Tasks() {
		defs = append(defs, tk.TaskDefinition)
		assert.Equal(t, "trueup", tk.StartedBy)
		assert.Equal(t, tk.Env["TRUEUP_RUN_ID"], tk.ClientToken)
		assert.Zero(t, *tk.ExitCode, "runner output: %s", tk.ExitReason)
	}
	assert.Equal(t, []string{"trueup-plan", "trueup-apply", "trueup-plan", "trueup-apply"}, defs)
}
