package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/git/github/githubtest"
	"github.com/trueup/trueup/git/gittest"
	"github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/pgstore/pgtest"
)

// lines counts the lines of path that are exactly line.
func lines(t *testing.T, path, line string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return 0
	}
	require.NoError(t, err)
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if l == line {
			n++
		}
	}
	return n
}

// gatedApply is a provisioner command that writes "start" to journal, touches started, waits while
// gate exists and then writes "done".
func gatedApply(journal, started, gate string) string {
	return fmt.Sprintf(`echo start >> %q; touch %q; while [ -e %q ]; do sleep 0.1; done; echo done >> %q`, journal, started, gate, journal)
}

// The leader dies with kill -9 in the middle of an apply: the standby takes over, reports the
// interrupted run once (log, Slack, status), runs the stack again from a fresh plan, and the apply
// completes once. The old leader comes back as the standby.
func TestReplicasLeaderKilledMidApply(t *testing.T) {
	work := t.TempDir()
	started, gate, journal := filepath.Join(work, "started"), filepath.Join(work, "gate"), filepath.Join(work, "journal")
	require.NoError(t, os.WriteFile(gate, nil, 0o600))
	// The stack declares no backend: its state is in PostgreSQL, where both replicas see it.
	remote := opsSlowRepo(t, gatedApply(journal, started, gate))
	slack := newOpsSlack(t)
	t.Setenv(opsTokenEnv, opsToken)
	set := newReplicaSet(t, remote.URL(), "SLACK_WEBHOOK_URL="+slack.URL+"/services/T0/B0/ha")
	extra := "api:\n  token_env: " + opsTokenEnv + "\nslack:\n  webhook_url_env: SLACK_WEBHOOK_URL\n"

	a := set.start("a", extra)
	first := waitLeading(a)
	b := set.start("b", extra)
	bBase := b.url()
	a.waitFor("the apply to hang in its provisioner", func() bool { return opsExists(started) })

	standby := leadership(t, bBase)
	assert.False(t, standby.Leading)
	assert.Equal(t, first.Self, standby.Leader, "the standby knows who leads")
	assert.Equal(t, first.Epoch, standby.Epoch)
	code, body := opsGet(t, bBase+"/readyz")
	assert.Equal(t, http.StatusOK, code, "a standby is ready while its database answers: %s", body)
	samples, _ := opsScrape(t, bBase)
	assert.Equal(t, 0.0, samples["trueup_leader"])
	assert.Equal(t, float64(first.Epoch), samples["trueup_leader_epoch"])

	// Crash: the leader and its Terraform die at once, mid-apply.
	a.crash()
	killed := time.Now()
	require.NoError(t, os.Remove(gate))
	took := waitLeading(b)
	t.Logf("the standby led %s after kill -9 (lease TTL %s)", time.Since(killed).Round(10*time.Millisecond), replicaTTL)
	assert.Greater(t, took.Epoch, first.Epoch, "a new leader has a new epoch")

	head := remote.Rev("main")
	b.waitFor("the apply re-done by the new leader", func() bool {
		s, _ := stackOnce(t, bBase, "stacks/slow")
		return s.AppliedRev == head && s.LastRun != nil && s.LastRun.Result == reconciler.ResultSucceeded
	})
	interrupted := b.logs.entries("run was interrupted when trueup last stopped", "stack", "stacks/slow")
	require.Len(t, interrupted, 1, "the interrupted run is reported once")
	assert.Equal(t, "apply", interrupted[0]["kind"])
	b.waitFor("Slack told of the interrupted run", func() bool { return len(slack.containing("stacks/slow", "run interrupted")) > 0 })
	assert.Equal(t, 1, lines(t, journal, "done"), "the apply completed once")

	// The old leader comes back: it finds a live lease and stands by.
	back := set.start("a", extra)
	backBase := back.url()
	back.waitFor("the old leader to see the new one", func() bool { return leadership(t, backBase).Leader == took.Self })
	assert.False(t, leadership(t, backBase).Leading)
	time.Sleep(2 * replicaTTL)
	assert.Zero(t, back.logs.count("apply started"), "a standby runs nothing")
	assert.Equal(t, 1, lines(t, journal, "done"), "nothing was applied twice")
	assert.Len(t, slack.containing("stacks/slow", "run interrupted"), 1, "one alert for one interrupted run")
	runs := opsStack(t, backBase, "stacks/slow")
	assert.Equal(t, head, runs.AppliedRev, "the standby answers from the shared store")
	samples, _ = opsScrape(t, bBase)
	assert.Equal(t, 1.0, samples["trueup_leader"])

	b.signal(syscall.SIGTERM)
	assert.Equal(t, 0, b.exitCode())
	waitLeading(back) // a clean stop releases the lease: the standby takes over at once
}

// A leader paused (SIGSTOP) in the middle of an apply loses its lease; the standby takes over while
// Terraform's own state lock holds it off; when the paused process wakes, its late writes are
// refused and it steps down, and the apply is not run twice.
func TestReplicasPausedLeaderIsFenced(t *testing.T) {
	work := t.TempDir()
	started, gate, journal := filepath.Join(work, "started"), filepath.Join(work, "gate"), filepath.Join(work, "journal")
	require.NoError(t, os.WriteFile(gate, nil, 0o600))
	remote := opsSlowRepo(t, gatedApply(journal, started, gate))
	t.Setenv(opsTokenEnv, opsToken)
	set := newReplicaSet(t, remote.URL())
	extra := "api:\n  token_env: " + opsTokenEnv + "\n"

	a := set.start("a", extra)
	first := waitLeading(a)
	b := set.start("b", extra)
	bBase := b.url()
	a.waitFor("the apply to hang in its provisioner", func() bool { return opsExists(started) })

	// Only trueup is paused: its Terraform goes on, holding the state's lock in PostgreSQL.
	a.signal(syscall.SIGSTOP)
	took := waitLeading(b)
	assert.Greater(t, took.Epoch, first.Epoch)
	require.NoError(t, os.Remove(gate)) // the paused leader's apply now finishes
	head := remote.Rev("main")
	b.waitFor("the new leader to find the stack applied", func() bool {
		s, _ := stackOnce(t, bBase, "stacks/slow")
		return s.AppliedRev == head && s.LastRun != nil && s.LastRun.Result != reconciler.ResultInterrupted
	})
	assert.Equal(t, 1, lines(t, journal, "start"), "the new leader did not apply again what was applied")

	a.signal(syscall.SIGCONT)
	a.waitFor("the woken leader to step down", func() bool { return a.logs.count("stepped down: standby") > 0 })
	a.waitFor("its late write refused", func() bool { return strings.Contains(a.logs.String(), "fenced") })
	aBase := a.url()
	a.waitFor("the woken replica to see the new leader", func() bool { return leadership(t, aBase).Leader == took.Self })
	assert.False(t, leadership(t, aBase).Leading)
	assert.Equal(t, 1, lines(t, journal, "done"))
	st := opsStack(t, bBase, "stacks/slow")
	assert.Equal(t, head, st.AppliedRev, "the refused writes changed nothing")
}

// Either replica serves people: a webhook sent to the standby is acted on by the leader, a
// redelivery to the other replica is dropped, a forged one is refused, and requests made through the
// standby reach the leader.
func TestReplicasStandbyServesWebhooksAndRequests(t *testing.T) {
	out := t.TempDir()
	remote := gittest.NewRemote(t)
	remote.CommitAndPush("initial", map[string]string{"stacks/a/main.tf": localStack(out, "a", "a-v1", "")})
	ghs := githubtest.NewServer(t)
	t.Setenv(opsTokenEnv, opsToken)
	set := newReplicaSet(t, remote.URL(), "GITHUB_TOKEN="+testGitHubToken, "GITHUB_WEBHOOK_SECRET="+testWebhookSecret)
	set.poll = time.Hour // only webhooks make the leader look at the remote again
	extra := "api:\n  token_env: " + opsTokenEnv + "\n" + fmt.Sprintf(
		"github:\n  owner: acme\n  repo: infra\n  api_url: %q\n  token_env: GITHUB_TOKEN\n  webhook_secret_env: GITHUB_WEBHOOK_SECRET\n", ghs.URL())

	a := set.start("a", extra)
	waitLeading(a)
	aBase := a.url()
	a.waitFor("the first apply", func() bool { return a.logs.count("apply finished") == 1 })
	b := set.start("b", extra)
	bBase := b.url()
	b.waitFor("the standby to see the leader", func() bool { return leadership(t, bBase).Leader != "" })

	second := remote.CommitAndPush("change a", map[string]string{"stacks/a/main.tf": localStack(out, "a", "a-v2", "")})
	push := map[string]any{"ref": "refs/heads/main", "after": string(second), "repository": map[string]any{"full_name": "acme/infra"}}
	code, reply := forward(t, bBase, "/webhooks/github", githubtest.SignedRequest("not-the-secret", "push", "forged-1", push))
	assert.Equal(t, http.StatusUnauthorized, code, reply)
	code, reply = forward(t, bBase, "/webhooks/github", githubtest.SignedRequest(testWebhookSecret, "push", "delivery-1", push))
	assert.Equal(t, http.StatusAccepted, code, reply)
	a.waitFor("the leader to apply the commit the standby heard of", func() bool {
		return opsStack(t, aBase, "stacks/a").AppliedRev == second
	})
	assert.Zero(t, b.logs.count("apply started"), "the standby ran nothing")
	code, reply = forward(t, aBase, "/webhooks/github", githubtest.SignedRequest(testWebhookSecret, "push", "delivery-1", push))
	assert.Equal(t, http.StatusOK, code, "a redelivery to the other replica is a duplicate: %s", reply)
	assert.Contains(t, reply, "duplicate")

	// A request through the standby is recorded and carried out by the leader.
	code, _, reply = opsPost(t, bBase+"/api/v1/stacks/stacks/a/reconcile", opsToken, "")
	assert.Equal(t, http.StatusAccepted, code, reply)
	a.waitFor("the leader's drift check asked for through the standby", func() bool {
		s := opsStack(t, aBase, "stacks/a")
		return s.LastRun != nil && s.LastRun.Kind == reconciler.RunDrift
	})
	code, _, reply = opsPost(t, bBase+"/api/v1/stacks/stacks/nope/reconcile", opsToken, "")
	assert.Equal(t, http.StatusNotFound, code, reply)
	code, _, _ = opsPost(t, bBase+"/api/v1/stacks/stacks/a/reconcile", "", "")
	assert.Equal(t, http.StatusUnauthorized, code, "the standby asks for the token like the leader")

	// Both replicas answer reads from the shared store, and say who leads.
	assert.Equal(t, second, opsStack(t, bBase, "stacks/a").AppliedRev)
	t.Setenv("TRUEUP_API_TOKEN", opsToken)
	rc, stdout, stderr := runOps(t, "status", "--addr", bBase)
	require.Equal(t, 0, rc, stderr)
	assert.Contains(t, stdout, "standby; leader "+leadership(t, aBase).Self)
	assert.Contains(t, stdout, "stacks/a")
	samples, _ := opsScrape(t, aBase)
	assert.Equal(t, 1.0, samples["trueup_leader"])
	assert.Contains(t, samples, "trueup_lease_age_seconds")
}

// Moving up: a stopped one-replica data dir is copied into PostgreSQL, stacks' records and local
// Terraform state included; a replica on PostgreSQL then finds every stack applied, applies nothing
// again, and its drift check reads the moved state.
func TestStoreCopyMovesADataDirIntoPostgres(t *testing.T) {
	out := t.TempDir()
	remote := gittest.NewRemote(t)
	head := remote.CommitAndPush("initial", map[string]string{
		"stacks/a/main.tf": localStack(out, "a", "a-v1", ""),
		"stacks/b/main.tf": localStack(out, "b", "b-v1", ""),
	})
	t.Setenv(opsTokenEnv, opsToken)
	set := newReplicaSet(t, remote.URL())
	t.Setenv("TRUEUP_DATABASE_URL", set.dsn)
	dir := filepath.Join(set.work, "single")
	require.NoError(t, os.MkdirAll(dir, 0o700))
	dataDir := filepath.Join(dir, "data")
	single := opsStartTrueup(t, opsConfigFile(t, dir, remote.URL(), dataDir, 30*time.Second, "api:\n  token_env: "+opsTokenEnv+"\n"))
	single.waitFor("both stacks applied", func() bool { return single.logs.count("apply finished") == 2 })

	code, stdout, stderr := runOps(t, "store", "copy", "--from", dataDir, "--to", "postgres")
	assert.Equal(t, 1, code, stdout)
	assert.Contains(t, stderr, "stop trueup first")
	assert.Contains(t, stderr, "in use by another trueup")

	single.signal(syscall.SIGTERM)
	require.Equal(t, 0, single.exitCode())
	code, stdout, stderr = runOps(t, "store", "copy", "--from", dataDir, "--to", "postgres")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stdout, "copied 2 stacks")
	assert.Contains(t, stdout, "2 Terraform states")
	assert.NotContains(t, stdout+stderr, set.dsn, "the connection string is never printed")
	code, _, stderr = runOps(t, "store", "copy", "--from", dataDir, "--to", "postgres")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "already holds 2 stacks", "a second copy never merges two histories")

	r := set.start("r", "api:\n  token_env: "+opsTokenEnv+"\n")
	waitLeading(r)
	base := r.url()
	for _, name := range []string{"stacks/a", "stacks/b"} {
		st := opsStack(t, base, name)
		assert.Equal(t, head, st.AppliedRev, "%s keeps its applied revision", name)
		require.NotNil(t, st.LastRun, name)
		assert.Equal(t, reconciler.RunApply, st.LastRun.Kind, "%s keeps its history", name)
	}
	r.waitFor("the reconcile accepted (503 until the new leader has read main)", func() bool {
		code, _, reply := opsPost(t, base+"/api/v1/stacks/stacks/a/reconcile", opsToken, "")
		require.Contains(t, []int{http.StatusAccepted, http.StatusServiceUnavailable}, code, reply)
		return code == http.StatusAccepted
	})
	r.waitFor("a drift check on the moved state", func() bool {
		st := opsStack(t, base, "stacks/a")
		return st.LastRun != nil && st.LastRun.Kind == reconciler.RunDrift
	})
	st := opsStack(t, base, "stacks/a")
	assert.NotEqual(t, reconciler.ResultFailed, st.LastRun.Result, st.LastRun.Error)
	assert.False(t, st.Drift.Drifted, "the moved state matches the real world")
	assert.Zero(t, r.logs.count("apply started"), "nothing is applied again after the move")
}

// A replica that starts before its database waits for it, naming the failure, and starts by itself
// when the database answers; a database that refuses (a wrong password) stops the start at once.
func TestReplicaWaitsForItsDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: real PostgreSQL and binary")
	}
	srv := pgtest.New(t)
	dsn := srv.NewDatabase(t)
	srv.NewRole(t, "wrongpw", "right-password")
	out := t.TempDir()
	remote := gittest.NewRemote(t)
	remote.CommitAndPush("initial", map[string]string{"stacks/a/main.tf": localStack(out, "a", "a-v1", "")})
	set := &replicaSet{t: t, dsn: dsn, work: t.TempDir(), repo: remote.URL(), env: []string{"TRUEUP_DATABASE_URL=" + dsn}}

	srv.Stop(t)
	r := set.start("r", "")
	r.waitFor("the failure named", func() bool { return r.logs.count("database unreachable; retrying") > 0 })
	srv.Start(t)
	r.waitFor("the replica to start once the database answers", func() bool { return r.logs.count("trueup started") > 0 })
	waitLeading(r)
	r.waitFor("the stack applied", func() bool { return r.logs.count("apply finished") == 1 })

	wrong := strings.Replace(dsn, "postgres@", "wrongpw:not-the-password@", 1)
	bad := &replicaSet{t: t, dsn: wrong, work: t.TempDir(), repo: remote.URL(), env: []string{"TRUEUP_DATABASE_URL=" + wrong}}
	p := bad.start("bad", "")
	assert.Equal(t, 1, p.exitCode(), "a refusal is not waited on")
	assert.Contains(t, p.logs.String(), "password authentication failed")
	assert.NotContains(t, p.logs.String(), "not-the-password", "the password is never printed")
}

// A comment command that reaches the standby is recorded for the leader, which reads it from the
// API, answers it in the thread and carries it out.
func TestReplicasStandbyRelaysACommentCommand(t *testing.T) {
	out := t.TempDir()
	remote := gittest.NewRemote(t)
	remote.CommitAndPush("initial", map[string]string{"stacks/a/main.tf": localStack(out, "a", "a-v1", "")})
	ghs := githubtest.NewServer(t)
	t.Setenv(opsTokenEnv, opsToken)
	set := newReplicaSet(t, remote.URL(), "GITHUB_TOKEN="+testGitHubToken, "GITHUB_WEBHOOK_SECRET="+testWebhookSecret)
	extra := "api:\n  token_env: " + opsTokenEnv + "\n" + fmt.Sprintf(
		"github:\n  owner: acme\n  repo: infra\n  api_url: %q\n  token_env: GITHUB_TOKEN\n  webhook_secret_env: GITHUB_WEBHOOK_SECRET\n", ghs.URL())
	a := set.start("a", extra)
	waitLeading(a)
	a.waitFor("the first apply", func() bool { return a.logs.count("apply finished") == 1 })
	b := set.start("b", extra)
	bBase := b.url()

	remote.Branch("a-v2")
	remote.WriteFiles(map[string]string{"stacks/a/main.tf": localStack(out, "a", "a-v2", "")})
	head := remote.Commit("change a")
	remote.Push("a-v2")
	remote.Checkout("main")
	ghs.AddPull(reconciler.PullRequest{Number: 1, Title: "a-v2", HeadBranch: "a-v2", Head: head, Base: "main", Author: "alice"})
	remote.SetPullRef(1, head)
	a.waitFor("the pull request planned", func() bool { return a.logs.count("plan started", "target", "pr:1") > 0 })

	ghs.SetPermission("bob", "write")
	id := ghs.AddCommentBy(1, "bob", "trueup help")
	event := map[string]any{
		"action": "created", "repository": map[string]any{"full_name": "acme/infra"},
		"issue":   map[string]any{"number": 1, "pull_request": map[string]any{"url": "https://api.github.com/repos/acme/infra/pulls/1"}},
		"comment": map[string]any{"id": id, "body": "trueup help", "user": map[string]any{"login": "bob"}},
	}
	code, reply := forward(t, bBase, "/webhooks/github", githubtest.SignedRequest(testWebhookSecret, "issue_comment", "c-1", event))
	require.Equal(t, http.StatusAccepted, code, reply)
	a.waitFor("the leader's answer in the thread", func() bool {
		for _, c := range ghs.Comments(1) {
			if strings.HasPrefix(c.Body, "<!-- trueup:reply ") {
				return true
			}
		}
		return false
	})
	assert.Zero(t, b.logs.count("plan started"), "the standby ran nothing")
}
