package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/git/gittest"
)

// processExecutor runs every Terraform run in a `trueup runner` child process of the real binary,
// through the runner protocol.
func processExecutor(t *testing.T) func(*Config) {
	bin := opsBinary(t)
	return func(cfg *Config) {
		cfg.Runner.Executor = executorProcess
		cfg.Runner.Process.Binary = bin
	}
}

func TestProcessExecutorMergedChangesApplyExactlyTheAffectedStacks(t *testing.T) {
	mergedChangesApplyExactlyTheAffectedStacks(t, processExecutor(t))
}

func TestProcessExecutorPullRequestCommentStatusesAndMerge(t *testing.T) {
	pullRequestCommentStatusesAndMerge(t, processExecutor(t))
}

func TestProcessExecutorPullRequestMergeHeldUntilApproved(t *testing.T) {
	pullRequestMergeHeldUntilApproved(t, processExecutor(t))
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
	processExecutor(t)(&cfg)
	d := startDaemon(t, cfg)
	d.waitFor("the stack applied", func() bool { return d.logs.count("apply finished", "result", "succeeded") == 1 })
	assert.NotZero(t, d.logs.count("runner", "stack", "stacks/fix"), "the runner's log lines reach the daemon's log")

	require.NoError(t, os.Remove(filepath.Join(out, "fix.txt")))
	d.waitFor("the drift corrected", func() bool { return d.logs.count("drift corrected", "stack", "stacks/fix") == 1 })
	assert.Equal(t, "fix-v1", readFile(t, filepath.Join(out, "fix.txt")))
	require.NoError(t, d.stop())
}
