package process

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler/remote"
)

func shell(script string, env map[string]string) *Executor {
	return &Executor{Binary: "/bin/sh", Args: []string{"-c", script}, Env: env, Interrupt: 300 * time.Millisecond}
}

var launch = remote.Launch{RunID: "r1", URL: "http://127.0.0.1:1", Token: "tok-en", Purpose: remote.PurposePlan, Stack: "stacks/a"}

func TestTheRunnerGetsItsRunAndNoneOfTheDaemonsSecrets(t *testing.T) {
	t.Setenv("TRUEUP_TEST_DAEMON_SECRET", "s3cret")
	out := filepath.Join(t.TempDir(), "env")
	task, err := shell("env > "+out, map[string]string{"TRUEUP_RUNNER_TERRAFORM": "/bin/terraform"}).Start(context.Background(), launch)
	require.NoError(t, err)
	require.NoError(t, task.Wait(context.Background()))
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	env := string(b)
	assert.Contains(t, env, "TRUEUP_RUN_ID=r1\n")
	assert.Contains(t, env, "TRUEUP_CONTROL_URL=http://127.0.0.1:1\n")
	assert.Contains(t, env, "TRUEUP_RUN_TOKEN=tok-en\n")
	assert.Contains(t, env, "TRUEUP_RUNNER_TERRAFORM=/bin/terraform\n")
	assert.NotContains(t, env, "s3cret", "the daemon's environment is not inherited")
}

func TestAFailedRunnerSaysWhy(t *testing.T) {
	task, err := shell("echo 'trueup: cannot reach the control plane' >&2; exit 3", nil).Start(context.Background(), launch)
	require.NoError(t, err)
	err = task.Wait(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "exit status 3")
	assert.Contains(t, err.Error(), "cannot reach the control plane")
}

func TestStopInterruptsThenKillsTheWholeGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child")
	// The runner ignores SIGTERM, and its child (Terraform, say) sleeps.
	task, err := shell("trap '' TERM; sleep 60 & echo $! > "+pidFile+"; wait", nil).Start(context.Background(), launch)
	require.NoError(t, err)
	require.Eventually(t, func() bool { b, _ := os.ReadFile(pidFile); return len(b) > 0 }, 5*time.Second, 10*time.Millisecond)
	b, _ := os.ReadFile(pidFile)
	child, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err)

	start := time.Now()
	require.NoError(t, task.Stop(context.Background(), "canceled"))
	assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond, "SIGTERM first, then the interrupt grace")
	require.Error(t, task.Wait(context.Background()))
	require.Eventually(t, func() bool { return syscall.Kill(child, 0) != nil }, 5*time.Second, 10*time.Millisecond, "the runner's children are killed too")
}

func TestStopLetsARunnerEndOnItsInterruptAndSweepsWhatItLeft(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child")
	task, err := shell("trap 'exit 0' TERM; sleep 60 & echo $! > "+pidFile+"; while :; do sleep 0.05; done", nil).Start(context.Background(), launch)
	require.NoError(t, err)
	require.Eventually(t, func() bool { b, _ := os.ReadFile(pidFile); return len(b) > 0 }, 5*time.Second, 10*time.Millisecond)
	b, _ := os.ReadFile(pidFile)
	child, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	require.NoError(t, syscall.Kill(child, 0), "the child runs")

	start := time.Now()
	require.NoError(t, task.Stop(context.Background(), "canceled"))
	assert.Less(t, time.Since(start), 300*time.Millisecond, "it stopped on SIGTERM, before the kill")
	require.Eventually(t, func() bool { return syscall.Kill(child, 0) != nil }, 5*time.Second, 10*time.Millisecond, "what it left is killed")
}
