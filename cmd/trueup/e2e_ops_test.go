package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
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
	"github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/terraform/tftest"
)

const (
	opsTokenEnv = "TRUEUP_OPS_TEST_TOKEN"
	opsToken    = "ops-token-5b1e-do-not-log"
)

// opsSeries are the series an operator's dashboards and alerts are built on.
var opsSeries = []string{
	"trueup_runs_total",
	"trueup_terraform_plan_duration_seconds",
	"trueup_terraform_apply_duration_seconds",
	"trueup_stack_drifted",
	"trueup_queue_depth",
	"trueup_last_successful_poll_timestamp_seconds",
	"trueup_git_poll_duration_seconds",
	"trueup_notification_failures_total",
	"trueup_held_applies",
}

// opsErrorBody decodes a JSON error answer and returns its message.
func opsErrorBody(t *testing.T, raw string) string {
	t.Helper()
	var body struct {
		Error string `json:"error"`
	}
	require.NoError(t, json.Unmarshal([]byte(raw), &body), raw)
	require.NotEmpty(t, body.Error, raw)
	return body.Error
}

func TestOpsEndpointsAuthorisationLockAndCLIAgainstARunningDaemon(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: real git and Terraform")
	}
	out := t.TempDir()
	remote := gittest.NewRemote(t)
	remote.CommitAndPush("two stacks", map[string]string{
		"stacks/a/main.tf": localStack(out, "a", "a-v1", ""),
		"stacks/c/main.tf": localStack(out, "c", "c-v1", ""),
	})
	t.Setenv(opsTokenEnv, opsToken)
	cfg := testConfig(t, remote.URL(), t.TempDir())
	cfg.API.TokenEnv = opsTokenEnv
	d := startDaemon(t, cfg)
	base := opsDaemonURL(d)
	rev1 := remote.Rev("main")
	d.waitFor("both stacks applied", func() bool { return d.logs.count("apply finished", "result", "succeeded") == 2 })
	// The log line comes before the store is written; the API shows the applies a moment later.
	d.waitFor("both applies recorded", func() bool {
		s := opsStacks(t, base)
		return len(s) == 2 && s[0].AppliedRev == rev1 && s[1].AppliedRev == rev1
	})

	// Probes: alive, and ready once a poll succeeded.
	code, body := opsGet(t, base+"/healthz")
	assert.Equal(t, http.StatusOK, code, body)
	code, body = opsGet(t, base+"/readyz")
	assert.Equal(t, http.StatusOK, code, body)
	assert.JSONEq(t, `{"status":"ready"}`, body)

	t.Run("stacks API", func(t *testing.T) {
		code, body := opsGet(t, base+"/api/v1/stacks")
		require.Equal(t, http.StatusOK, code, body)
		var list struct {
			Stacks []reconciler.StackStatus `json:"stacks"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &list), body)
		require.Len(t, list.Stacks, 2)
		head := rev1
		for i, name := range []string{"stacks/a", "stacks/c"} {
			s := list.Stacks[i]
			assert.Equal(t, name, s.Name)
			assert.Equal(t, name, s.Dir)
			assert.Equal(t, "default", s.Workspace)
			assert.Equal(t, head, s.AppliedRev)
			assert.True(t, s.InRepository)
			require.NotNil(t, s.LastRun, name)
			assert.Equal(t, reconciler.RunApply, s.LastRun.Kind)
			assert.Equal(t, reconciler.ResultSucceeded, s.LastRun.Result)
			assert.Equal(t, head, s.LastRun.Revision)
		}
		// The JSON carries the documented keys.
		var raw struct{ Stacks []map[string]any }
		require.NoError(t, json.Unmarshal([]byte(body), &raw), body)
		for _, key := range []string{"name", "dir", "workspace", "applied_revision", "last_run", "drift", "pending", "running"} {
			assert.Contains(t, raw.Stacks[1], key)
		}

		code, body = opsGet(t, base+"/api/v1/stacks/stacks/c")
		require.Equal(t, http.StatusOK, code, body)
		var one reconciler.StackStatus
		require.NoError(t, json.Unmarshal([]byte(body), &one), body)
		assert.Equal(t, "stacks/c", one.Name)
		assert.Equal(t, head, one.AppliedRev)

		code, body = opsGet(t, base+"/api/v1/stacks/stacks/nope")
		assert.Equal(t, http.StatusNotFound, code, body)
		assert.Contains(t, opsErrorBody(t, body), "stacks/nope")
	})

	t.Run("mutations need the token", func(t *testing.T) {
		reconcileURL := base + "/api/v1/stacks/stacks/a/reconcile"
		approveURL := base + "/api/v1/stacks/stacks/a/approve"
		for _, tc := range []struct {
			name, url, token, body string
			status                 int
			message                string
		}{
			{"reconcile without a token", reconcileURL, "", "", http.StatusUnauthorized, "missing bearer token"},
			{"reconcile with a wrong token", reconcileURL, "not-the-token", "", http.StatusUnauthorized, "invalid bearer token"},
			{"approve with a wrong token", approveURL, "not-the-token", `{"revision":"0123456"}`, http.StatusUnauthorized, "invalid bearer token"},
			{"approve with a malformed body", approveURL, opsToken, `{"revision":`, http.StatusBadRequest, "invalid JSON body"},
			{"approve with an unknown key", approveURL, opsToken, `{"rev":"0123456"}`, http.StatusBadRequest, "invalid JSON body"},
			{"approve of a stack that is not held", approveURL, opsToken, `{"revision":"0123456"}`, http.StatusConflict, "no apply of stacks/a is held"},
			{"approve of an unknown stack", base + "/api/v1/stacks/stacks/nope/approve", opsToken, `{"revision":"0123456"}`, http.StatusNotFound, "stacks/nope"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				code, ctype, reply := opsPost(t, tc.url, tc.token, tc.body)
				assert.Equal(t, tc.status, code, reply)
				assert.Contains(t, ctype, "application/json")
				assert.Contains(t, opsErrorBody(t, reply), tc.message)
			})
		}
		before := d.logs.count("reconcile requested through the API", "stack", "stacks/a")
		code, _, reply := opsPost(t, reconcileURL, opsToken, "")
		assert.Equal(t, http.StatusAccepted, code, reply)
		assert.JSONEq(t, `{"status":"queued","stack":"stacks/a"}`, reply)
		assert.Equal(t, before+1, d.logs.count("reconcile requested through the API", "stack", "stacks/a"))
		assert.NotContains(t, d.logs.String(), opsToken, "the token is never logged")
	})

	t.Run("metrics move when runs happen", func(t *testing.T) {
		before, names := opsScrape(t, base)
		for _, name := range opsSeries {
			assert.True(t, names[name], "series %s is exposed", name)
		}
		assert.Contains(t, before, `trueup_stack_drifted{stack="stacks/c"}`)
		runs := `trueup_runs_total{kind="apply",result="succeeded",stack="stacks/c"}`
		require.Contains(t, before, runs)

		applies := d.logs.count("apply finished", "stack", "stacks/c")
		remote.CommitAndPush("c: v2", map[string]string{"stacks/c/main.tf": localStack(out, "c", "c-v2", "")})
		d.waitFor("c applied again", func() bool { return d.logs.count("apply finished", "stack", "stacks/c") == applies+1 })
		after, _ := opsScrape(t, base)

		assert.Equal(t, before[runs]+1, after[runs], "one more succeeded apply of stacks/c")
		assert.Equal(t, before[`trueup_runs_total{kind="apply",result="succeeded",stack="stacks/a"}`],
			after[`trueup_runs_total{kind="apply",result="succeeded",stack="stacks/a"}`], "stacks/a did not change")
		for _, series := range []string{
			"trueup_terraform_plan_duration_seconds_count",
			"trueup_terraform_apply_duration_seconds_count",
			"trueup_git_poll_duration_seconds_count",
			"trueup_last_successful_poll_timestamp_seconds",
		} {
			assert.Greater(t, after[series], before[series], series)
		}
		assert.Zero(t, after["trueup_held_applies"])
		assert.Zero(t, after["trueup_notification_failures_total"])
	})

	t.Run("a second trueup on the same data dir is refused", func(t *testing.T) {
		second := cfg
		second.Listen = "127.0.0.1:0"
		err := runDaemon(t.Context(), second, slog.New(slog.DiscardHandler))
		require.Error(t, err)
		dataDir, _ := filepath.Abs(cfg.DataDir)
		assert.Contains(t, err.Error(), dataDir)
		assert.Contains(t, err.Error(), "in use by another trueup")
	})

	t.Run("CLI", func(t *testing.T) {
		t.Setenv(defaultTokenEnv, opsToken)
		t.Setenv(addrEnv, "")
		d.waitFor("the drift check of stacks/a recorded", func() bool {
			s := opsStacks(t, base)
			return s[0].LastRun != nil && s[0].LastRun.Kind == reconciler.RunDrift
		})
		code, stdout, stderr := runOps(t, "status", "--addr", base)
		require.Equal(t, 0, code, stderr)
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		require.Len(t, lines, 3, stdout)
		assert.Regexp(t, `^STACK\s+APPLIED\s+LAST RUN\s+DRIFT\s+STATE`, lines[0])
		// a was last applied at the first commit and drift-checked since; c was applied at main's head.
		assert.Regexp(t, `^stacks/a\s+`+rev1.Short()+`\s+drift succeeded, (just now|\d+s ago)\s+in sync\s+-$`, lines[1])
		assert.Regexp(t, `^stacks/c\s+`+remote.Rev("main").Short()+`\s+apply succeeded, (just now|\d+s ago)\s+-\s+-$`, lines[2])

		code, stdout, stderr = runOps(t, "status", "--json", "--addr", base)
		require.Equal(t, 0, code, stderr)
		var list struct {
			Stacks []reconciler.StackStatus `json:"stacks"`
		}
		require.NoError(t, json.Unmarshal([]byte(stdout), &list), stdout)
		require.Len(t, list.Stacks, 2)
		assert.Equal(t, "stacks/c", list.Stacks[1].Name)

		// reconcile runs a drift check now, which puts back a file deleted outside Terraform.
		cFile := filepath.Join(out, "c.txt")
		require.NoError(t, os.Remove(cFile))
		code, stdout, stderr = runOps(t, "reconcile", "stacks/c", "--addr", base)
		require.Equal(t, 0, code, stderr)
		assert.Equal(t, "queued stacks/c\n", stdout)
		d.waitFor("drift corrected", func() bool { return d.logs.count("drift corrected", "stack", "stacks/c") == 1 })
		assert.Equal(t, "c-v2", readFile(t, cFile))

		code, stdout, stderr = runOps(t, "approve", "stacks/c", "0123456", "--addr", base)
		assert.Equal(t, 1, code)
		assert.Empty(t, stdout)
		assert.Contains(t, stderr, "approve stacks/c: conflict: no apply of stacks/c is held")

		// Without the token the daemon's 401 comes with where the token is read from.
		t.Setenv(defaultTokenEnv, "")
		code, _, stderr = runOps(t, "reconcile", "stacks/c", "--addr", base)
		assert.Equal(t, 1, code)
		assert.Contains(t, stderr, "missing bearer token")
		assert.Contains(t, stderr, "$"+defaultTokenEnv)
	})
}

// runOps runs one trueup command line in-process, as the binary would, checking the token stays secret.
func runOps(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut strings.Builder
	code = runMain(context.WithoutCancel(t.Context()), args, &out, &errOut)
	assert.NotContains(t, out.String()+errOut.String(), opsToken, "the token is never printed")
	return code, out.String(), errOut.String()
}

func TestOpsUnreachableRepositoryKeepsServingAndSaysWhyNotReady(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: real git and Terraform")
	}
	missing := filepath.Join(t.TempDir(), "no-such-repo.git")
	cfg := testConfig(t, missing, t.TempDir()) // no api.token_env: mutations are off
	d := startDaemon(t, cfg)
	base := opsDaemonURL(d)
	d.waitFor("a failed poll", func() bool { return d.logs.count("poll failed; will keep trying") >= 1 })

	code, body := opsGet(t, base+"/healthz")
	assert.Equal(t, http.StatusOK, code, body)
	code, body = opsGet(t, base+"/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, code, body)
	var ready struct{ Status, Reason string }
	require.NoError(t, json.Unmarshal([]byte(body), &ready), body)
	assert.Equal(t, "not ready", ready.Status)
	assert.Equal(t, "poll: no successful poll yet", ready.Reason, "the reason names the check that failed")
	assert.NotContains(t, body, "no-such-repo", "never an error's text: it may hold a URL with credentials")

	code, body = opsGet(t, base+"/api/v1/stacks")
	assert.Equal(t, http.StatusOK, code, body)
	assert.JSONEq(t, `{"stacks":[]}`, body)
	samples, _ := opsScrape(t, base)
	assert.Positive(t, samples["trueup_git_poll_failures_total"])
	assert.Zero(t, samples["trueup_last_successful_poll_timestamp_seconds"])

	// Without a configured token every mutation is refused, whatever is sent.
	for _, token := range []string{"", "anything"} {
		code, _, reply := opsPost(t, base+"/api/v1/stacks/stacks/a/reconcile", token, "")
		assert.Equal(t, http.StatusForbidden, code, reply)
		assert.Contains(t, opsErrorBody(t, reply), "mutations are disabled")
		code, _, reply = opsPost(t, base+"/api/v1/stacks/stacks/a/approve", token, `{"revision":"0123456"}`)
		assert.Equal(t, http.StatusForbidden, code, reply)
	}

	code, _, stderr := runOps(t, "status", "--addr", base)
	assert.Equal(t, 0, code, stderr)
	require.NoError(t, d.stop(), "the daemon stops cleanly although it never reached the remote")
}

func TestOpsVersionShowsTrueupAndTerraform(t *testing.T) {
	bin, _ := tftest.Tools(t)
	code, stdout, stderr := runOps(t, "version", "--terraform", bin)
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `(?m)^trueup dev \(commit unknown\)$`, stdout)
	assert.Regexp(t, `(?m)^Terraform v1\.5\.7$`, stdout)

	// The Terraform the daemon runs is the one in the config file.
	config := filepath.Join(t.TempDir(), "trueup.yaml")
	require.NoError(t, os.WriteFile(config, []byte("terraform:\n  binary: "+bin+"\n"), 0o600))
	code, stdout, stderr = runOps(t, "version", "--config", config)
	require.Equal(t, 0, code, stderr)
	assert.Regexp(t, `(?m)^Terraform v1\.5\.7$`, stdout)

	missing := filepath.Join(t.TempDir(), "terraform")
	code, stdout, _ = runOps(t, "version", "--terraform", missing)
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout, "terraform: not found ("+missing+")")

}

func TestOpsHelpShowsExamples(t *testing.T) {
	for _, cmd := range []string{"run", "status", "approve", "reconcile", "validate", "version"} {
		t.Run(cmd, func(t *testing.T) {
			code, _, stderr := runOps(t, cmd, "--help")
			assert.Equal(t, 0, code)
			assert.Contains(t, stderr, "Usage: trueup "+cmd)
			_, examples, ok := strings.Cut(stderr, "\nExamples:\n")
			require.True(t, ok, stderr)
			assert.Contains(t, examples, "trueup "+cmd+" ", "the examples use the command")
		})
	}
	code, stdout, _ := runOps(t, "--help")
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout, "Run \"trueup COMMAND --help\"")
}

// opsSlowRepo pushes a repository with one stack, stacks/slow, whose apply runs command.
func opsSlowRepo(t *testing.T, command string) *gittest.Remote {
	remote := gittest.NewRemote(t)
	remote.CommitAndPush("a slow stack", map[string]string{"stacks/slow/main.tf": opsSlowStack(command)})
	return remote
}

func TestOpsCrashMidApplyIsShownAlertedAndRedone(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: real binary, git and Terraform")
	}
	work := t.TempDir()
	started, gate := filepath.Join(work, "started"), filepath.Join(work, "gate")
	require.NoError(t, os.WriteFile(gate, nil, 0o600))
	// The apply hangs while the gate file exists, so the restarted daemon's re-run finishes.
	remote := opsSlowRepo(t, fmt.Sprintf("touch %q; if [ -e %q ]; then exec sleep 60; fi", started, gate))
	dataDir := filepath.Join(work, "data")
	firstDir, secondDir := filepath.Join(work, "first"), filepath.Join(work, "second")
	require.NoError(t, os.Mkdir(firstDir, 0o700))
	require.NoError(t, os.Mkdir(secondDir, 0o700))
	t.Setenv(opsTokenEnv, opsToken)
	config := opsConfigFile(t, firstDir, remote.URL(), dataDir, 30*time.Second, "api:\n  token_env: "+opsTokenEnv+"\n")

	first := opsStartTrueup(t, config)
	base := first.url()
	first.waitFor("the apply to hang in its provisioner", func() bool { return opsExists(started) })
	st := opsStack(t, base, "stacks/slow")
	assert.True(t, st.Running, "the stack shows as running")
	// Its first run has not finished, yet the stack exists: approving it is a conflict, not "not found".
	code, _, reply := opsPost(t, base+"/api/v1/stacks/stacks/slow/approve", opsToken, `{"revision":"`+string(remote.Rev("main"))+`"}`)
	assert.Equal(t, http.StatusConflict, code, reply)
	assert.Contains(t, opsErrorBody(t, reply), "no apply of stacks/slow is held")

	// A second trueup on the same data dir is refused while the first runs.
	second := exec.Command(opsBinary(t), "run", "--config", config)
	output, err := second.CombinedOutput()
	var exitErr *exec.ExitError
	require.ErrorAs(t, err, &exitErr, "%s", output)
	assert.Equal(t, 1, exitErr.ExitCode())
	assert.Contains(t, string(output), "data dir "+dataDir+" is in use by another trueup")

	// Crash: trueup and its Terraform die at once, mid-apply.
	first.killGroup()
	assert.Equal(t, -1, first.exitCode(), "killed by a signal")
	require.NoError(t, os.Remove(gate))

	slack := newOpsSlack(t)
	config = opsConfigFile(t, secondDir, remote.URL(), dataDir, 30*time.Second, "slack:\n  webhook_url_env: SLACK_WEBHOOK_URL\n")
	restarted := opsStartTrueup(t, config, "SLACK_WEBHOOK_URL="+slack.URL+"/services/T0/B0/ops")
	base = restarted.url()
	head := remote.Rev("main")
	sawInterrupted := false
	restarted.waitFor("the apply re-done", func() bool {
		s := opsStack(t, base, "stacks/slow")
		if s.LastRun != nil && s.LastRun.Result == reconciler.ResultInterrupted {
			sawInterrupted = true
		}
		return s.AppliedRev == head && s.LastRun != nil && s.LastRun.Result == reconciler.ResultSucceeded
	})
	t.Logf("saw last_run.result interrupted in /api/v1/stacks: %v", sawInterrupted)
	interrupted := restarted.logs.entries("run was interrupted when trueup last stopped", "stack", "stacks/slow")
	require.Len(t, interrupted, 1)
	assert.Equal(t, "apply", interrupted[0]["kind"])
	assert.Equal(t, head.Short(), interrupted[0]["rev"])
	assert.Equal(t, 1, restarted.logs.count("apply finished", "stack", "stacks/slow", "result", "succeeded"))
	restarted.waitFor("Slack told of the interrupted run", func() bool {
		return len(slack.containing("stacks/slow", "run interrupted")) > 0
	})
	msg := slack.containing("stacks/slow", "run interrupted")
	assert.Len(t, msg, 1, "one alert for one interrupted run")
	assert.Contains(t, msg[0], head.Short())

	// The interrupted run is in the store's history: metrics count it after the restart.
	samples, _ := opsScrape(t, base)
	assert.Equal(t, 1.0, samples[`trueup_runs_total{kind="apply",result="interrupted",stack="stacks/slow"}`])
	assert.Equal(t, 1.0, samples[`trueup_runs_total{kind="apply",result="succeeded",stack="stacks/slow"}`])

	restarted.signal(syscall.SIGTERM)
	assert.Equal(t, 0, restarted.exitCode())
}

func TestOpsShutdownLetsAnApplyFinishWithinTheGracePeriod(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: real binary, git and Terraform")
	}
	work := t.TempDir()
	started, release, finished := filepath.Join(work, "started"), filepath.Join(work, "release"), filepath.Join(work, "finished")
	// The provisioner waits (at most about 5 s) for the test to release it once the shutdown has begun,
	// so the apply surely ends during the grace period, whatever the machine's speed.
	remote := opsSlowRepo(t, fmt.Sprintf(
		"touch %q; i=0; while [ ! -e %q ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; touch %q", started, release, finished))
	p := opsStartTrueup(t, opsConfigFile(t, work, remote.URL(), filepath.Join(work, "data"), 30*time.Second, ""))
	p.waitFor("the apply in its provisioner", func() bool { return opsExists(started) })

	p.signal(syscall.SIGTERM)
	p.waitFor("the shutdown to begin", func() bool {
		return p.logs.count("shutting down: no new runs; waiting for running ones") == 1
	})
	require.NoError(t, os.WriteFile(release, nil, 0o600))
	assert.Equal(t, 0, p.exitCode())
	assert.True(t, opsExists(finished), "the provisioner ran to its end")
	shutdown := opsLogIndex(p.logs, "shutting down: no new runs; waiting for running ones")
	applied := opsLogIndex(p.logs, "apply finished", "stack", "stacks/slow", "result", "succeeded")
	stopped := opsLogIndex(p.logs, "stopped")
	require.NotEqual(t, -1, shutdown)
	require.NotEqual(t, -1, applied, "the apply finished")
	assert.Less(t, shutdown, applied, "the apply finished after the shutdown began")
	assert.Less(t, applied, stopped)
	assert.Equal(t, -1, opsLogIndex(p.logs, "shutdown grace period over: interrupting Terraform"))
}

func TestOpsShutdownInterruptsTerraformAfterTheGracePeriod(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: real binary, git and Terraform")
	}
	opsShutdownInterruptsTerraformAfterTheGracePeriod(t, "")
}

// opsShutdownInterruptsTerraformAfterTheGracePeriod runs the test with extra in trueup.yaml, and
// returns the stopped trueup.
func opsShutdownInterruptsTerraformAfterTheGracePeriod(t *testing.T, extra string) *opsProcess {
	work := t.TempDir()
	started, finished := filepath.Join(work, "started"), filepath.Join(work, "finished")
	remote := opsSlowRepo(t, fmt.Sprintf("touch %q; sleep 60; touch %q", started, finished))
	p := opsStartTrueup(t, opsConfigFile(t, work, remote.URL(), filepath.Join(work, "data"), time.Second, extra))
	p.waitFor("the apply in its provisioner", func() bool { return opsExists(started) })

	p.signal(syscall.SIGTERM)
	assert.Equal(t, 0, p.exitCode())
	assert.False(t, opsExists(finished), "Terraform was interrupted before the provisioner ended")
	shutdown := opsLogIndex(p.logs, "shutting down: no new runs; waiting for running ones")
	graceOver := opsLogIndex(p.logs, "shutdown grace period over: interrupting Terraform")
	interrupted := opsLogIndex(p.logs, "apply interrupted by shutdown; it runs again at the next start", "stack", "stacks/slow")
	stopped := opsLogIndex(p.logs, "stopped")
	require.NotEqual(t, -1, graceOver)
	require.NotEqual(t, -1, interrupted, "the apply is recorded as interrupted")
	assert.Less(t, shutdown, graceOver)
	assert.Less(t, graceOver, interrupted)
	assert.Less(t, interrupted, stopped)
	assert.Equal(t, -1, opsLogIndex(p.logs, "apply finished"))
	return p
}
