package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/git/github/githubtest"
	"github.com/trueup/trueup/reconciler"
)

// A pull request gets one living comment and a status per affected stack; a new commit edits that
// comment; its merge is applied at the merge commit and the comment says so; its workdir goes away.
func TestPullRequestCommentStatusesAndMerge(t *testing.T) {
	pullRequestCommentStatusesAndMerge(t, nil)
}

func pullRequestCommentStatusesAndMerge(t *testing.T, configure func(*Config)) {
	e := newPullsEnv(t, configure)
	d := e.d

	head1 := e.name(e.openPull(1, "add-extra", map[string]string{"stacks/a/extra.tf": e.extraFile("a", "extra-v1")}), "head1")
	body := e.waitBody(1, "the plan of stacks/a on #1", func(b string) bool {
		return strings.Contains(b, "✅ planned") && strings.Contains(b, head1.Short())
	})
	assertGolden(t, "opened", e.normalise(body))
	require.Len(t, e.gh.Comments(1), 1, "one comment per pull request")
	statuses := e.stackStatuses(head1)
	assert.Equal(t, []string{"trueup/stacks/a"}, statusContexts(statuses), "a status for the affected stack only")
	last := statuses["trueup/stacks/a"][len(statuses["trueup/stacks/a"])-1]
	assert.Equal(t, "success", last.State)
	assert.Equal(t, "+1 ~0 -0", last.Description)
	assert.Equal(t, 1, e.plansStarted("pr:1", head1))
	assert.Zero(t, d.logs.count("plan started", "stack", "stacks/b"), "stacks/b is not affected")

	// A new commit edits the same comment.
	head2 := e.name(e.pushToPull(1, "add-extra", map[string]string{"stacks/a/extra.tf": e.extraFile("a", "extra-v2")}), "head2")
	body = e.waitBody(1, "the plan at the new head", func(b string) bool {
		return strings.Contains(b, "`"+head2.Short()+"`") && strings.Contains(b, "✅ planned")
	})
	assertGolden(t, "new_commit", e.normalise(body))
	assert.Len(t, e.gh.Comments(1), 1, "the comment is edited, not posted again")
	assert.Equal(t, "+1 ~0 -0", lastStatus(e.stackStatuses(head2)["trueup/stacks/a"]).Description)
	d.waitFor("the plan workdir of #1", func() bool { return isDir(filepath.Join(e.cfg.DataDir, "work", reconciler.Slug("pr:1"))) })

	// GitHub merges: the API says so before main is pushed, so trueup knows the merge commit.
	e.remote.Checkout("main")
	e.remote.Git("merge", "--quiet", "--no-ff", "--no-edit", "-m", "Merge #1", "add-extra")
	merge := e.name(e.remote.Rev("HEAD"), "merge")
	e.gh.MergePull(1, merge)
	d.waitFor("the merge recorded", func() bool { return d.logs.count("pull request merged", "pr", "1") == 1 })
	e.remote.Push("main")

	d.waitFor("the merge applied", func() bool { return d.logs.count("apply finished", "stack", "stacks/a", "rev", merge.Short()) == 1 })
	assert.Equal(t, "extra-v2", readFile(t, filepath.Join(e.out, "a-extra.txt")))
	body = e.waitBody(1, "the apply shown on #1", func(b string) bool { return strings.Contains(b, "✅ applied") })
	assertGolden(t, "merged", e.normalise(body))
	assert.Len(t, e.gh.Comments(1), 1)
	assert.Zero(t, d.logs.count("apply held: the merged plan differs from the reviewed one"))
	d.waitFor("the workdir of #1 removed", func() bool { return !isDir(filepath.Join(e.cfg.DataDir, "work", reconciler.Slug("pr:1"))) })
}

func statusContexts(m map[string][]githubtest.Status) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func lastStatus(s []githubtest.Status) githubtest.Status {
	if len(s) == 0 {
		return githubtest.Status{}
	}
	return s[len(s)-1]
}

func isDir(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.IsDir()
}

// A merge whose plan differs from the one shown on the pull request (here the real world changed
// after the review) is held, says why on the pull request, and is applied once approved.
func TestPullRequestMergeHeldUntilApproved(t *testing.T) {
	pullRequestMergeHeldUntilApproved(t, nil)
}

func pullRequestMergeHeldUntilApproved(t *testing.T, configure func(*Config)) {
	e := newPullsEnv(t, configure)
	d := e.d

	head := e.name(e.openPull(1, "a-v2", map[string]string{"stacks/a/main.tf": localStack(e.out, "a", "a-v2", "")}), "head")
	e.waitBody(1, "the plan of #1", func(b string) bool { return strings.Contains(b, "✅ planned") })
	assert.Equal(t, "+1 ~0 -1", lastStatus(e.stackStatuses(head)["trueup/stacks/a"]).Description, "a content change replaces the file")

	// Someone deletes the file by hand: the merge would now create it, not replace it as reviewed.
	require.NoError(t, os.Remove(filepath.Join(e.out, "a.txt")))
	// GitHub pushes main before its API reports the merge.
	merge := e.name(e.remote.Merge("a-v2", "Merge #1"), "merge")

	d.waitFor("the apply held", func() bool {
		return d.logs.count("apply held: the merged plan differs from the reviewed one", "stack", "stacks/a", "rev", merge.Short()) == 1
	})
	body := e.waitBody(1, "the hold shown on #1", func(b string) bool { return strings.Contains(b, "⏸ held") })
	assertGolden(t, "held", e.normalise(body))
	assert.Contains(t, body, "local_file.main: reviewed replace, now create")
	assert.NoFileExists(t, filepath.Join(e.out, "a.txt"), "nothing applied while held")
	e.gh.MergePull(1, merge)

	code, reply := e.approve("stacks/a", "0000000")
	assert.Equal(t, 409, code, "only the held revision can be approved: %s", reply)
	code, reply = e.approve("stacks/a", merge)
	require.Equal(t, 200, code, reply)

	d.waitFor("the approved merge applied", func() bool {
		return d.logs.count("apply finished", "stack", "stacks/a", "rev", merge.Short()) == 1
	})
	assert.Equal(t, "a-v2", readFile(t, filepath.Join(e.out, "a.txt")))
	body = e.waitBody(1, "the apply shown on #1", func(b string) bool { return strings.Contains(b, "✅ applied") })
	assertGolden(t, "held_then_approved", e.normalise(body))
	assert.Len(t, e.gh.Comments(1), 1)
	assert.Zero(t, d.logs.count("apply started", "stack", "stacks/b", "rev", merge.Short()), "stacks/b is not affected")
}

// Webhooks wake trueup only when GitHub signed them, and a redelivery does not run anything twice.
// Polling is slowed to an hour so that only webhooks can make trueup look at the pull request.
func TestPullRequestWebhooks(t *testing.T) {
	e := newPullsEnv(t, func(cfg *Config) { cfg.Repo.PollInterval = time.Hour })
	d := e.d
	head1 := e.openPull(1, "add-extra", map[string]string{"stacks/a/extra.tf": e.extraFile("a", "extra-v1")})
	listed := e.gh.CountRequests("GET", "/repos/acme/infra/pulls")
	opened := pullEvent("opened", 1, "add-extra", head1)

	code, reply := e.post("/webhooks/github", githubtest.SignedRequest("not-the-secret", "pull_request", "delivery-1", opened))
	assert.Equal(t, http.StatusUnauthorized, code, reply)
	code, reply = e.post("/webhooks/github", githubtest.UnsignedRequest("pull_request", "delivery-1", opened))
	assert.Equal(t, http.StatusUnauthorized, code, reply)
	// Nothing to wait for when nothing happens: give a wrongly woken poll time to show up.
	time.Sleep(time.Second)
	assert.Equal(t, listed, e.gh.CountRequests("GET", "/repos/acme/infra/pulls"), "a refused webhook does not poll")
	assert.Zero(t, d.logs.count("branch moved", "target", "pr:1"))

	// The same delivery id signed properly is accepted: refused deliveries are not remembered.
	code, reply = e.post("/webhooks/github", githubtest.SignedRequest(testWebhookSecret, "pull_request", "delivery-1", opened))
	assert.Equal(t, http.StatusAccepted, code, reply)
	d.waitFor("#1 planned", func() bool { return d.logs.count("plan finished", "target", "pr:1", "rev", head1.Short()) == 1 })
	code, reply = e.post("/webhooks/github", githubtest.SignedRequest(testWebhookSecret, "pull_request", "delivery-1", opened))
	assert.Equal(t, http.StatusOK, code, reply)
	assert.Contains(t, reply, "duplicate")

	// A new commit, announced by a new delivery, is planned; the duplicate ran nothing.
	head2 := e.pushToPull(1, "add-extra", map[string]string{"stacks/a/extra.tf": e.extraFile("a", "extra-v2")})
	code, reply = e.post("/webhooks/github", githubtest.SignedRequest(testWebhookSecret, "pull_request", "delivery-2", pullEvent("synchronize", 1, "add-extra", head2)))
	assert.Equal(t, http.StatusAccepted, code, reply)
	d.waitFor("the new head planned", func() bool { return d.logs.count("plan finished", "target", "pr:1", "rev", head2.Short()) == 1 })
	assert.Equal(t, 1, e.plansStarted("pr:1", head1), "one plan for the first head, however often it was announced")
	assert.Equal(t, 1, e.plansStarted("pr:1", head2))
	assert.Equal(t, 1, d.logs.count("duplicate webhook delivery", "delivery", "delivery-1"))
	assert.Len(t, e.gh.Comments(1), 1)
}

// A pull request from a fork is not planned, and its comment says why.
func TestPullRequestFromForkIsNotPlanned(t *testing.T) {
	e := newPullsEnv(t, nil)
	d := e.d
	// The fork's commit reaches the repository only as refs/pull/2/head, as on GitHub.
	head := e.name(e.commitOnBranch("fork-main", "contributor's change", map[string]string{"stacks/a/extra.tf": e.extraFile("a", "from a fork")}), "fork")
	e.gh.AddPull(reconciler.PullRequest{Number: 2, Title: "fork", HeadBranch: "main", Head: head, Fork: true})
	e.remote.SetPullRef(2, head)

	body := e.waitBody(2, "the fork's comment", func(b string) bool { return strings.Contains(b, "fork") })
	assertGolden(t, "fork", e.normalise(body))
	assert.Equal(t, 1, d.logs.count("pull request from a fork: not planned (allow_forks is false)", "pr", "2"))
	assert.Zero(t, d.logs.count("plan started", "target", "pr:2"))
	assert.Empty(t, e.gh.Statuses(string(head)), "no status: nothing ran")
	assert.NoFileExists(t, filepath.Join(e.out, "a-extra.txt"))
	assert.False(t, isDir(filepath.Join(e.cfg.DataDir, "work", reconciler.Slug("pr:2"))), "the fork's code was never checked out")
}

// Closing a pull request without merging removes its workdirs and applies nothing.
func TestClosedPullRequestIsCleanedUp(t *testing.T) {
	e := newPullsEnv(t, nil)
	d := e.d
	head := e.openPull(3, "b-v2", map[string]string{"stacks/b/main.tf": localStack(e.out, "b", "b-v2", "")})
	d.waitFor("#3 planned", func() bool { return d.logs.count("plan finished", "target", "pr:3", "rev", head.Short()) == 1 })
	work := filepath.Join(e.cfg.DataDir, "work", reconciler.Slug("pr:3"))
	require.True(t, isDir(work), "the plan ran in %s", work)

	e.gh.UpdatePull(3, func(p *reconciler.PullRequest) { p.State = "closed" })
	d.waitFor("#3 cleaned up", func() bool { return d.logs.count("target cleaned up", "target", "pr:3") == 1 })
	assert.False(t, isDir(work), "workdir removed")
	assert.False(t, isDir(filepath.Join(e.cfg.DataDir, "tfdata", reconciler.Slug("pr:3"))), "Terraform data dir removed")
	assert.Zero(t, d.logs.count("pull request merged"))
	assert.Equal(t, "b-v1", readFile(t, filepath.Join(e.out, "b.txt")), "nothing applied")
}

// A plan too long for one GitHub comment is split into balanced parts that each fit.
func TestPullRequestHugePlanIsSplit(t *testing.T) {
	e := newPullsEnv(t, nil)
	var content strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&content, "line %04d %s\n", i, strings.Repeat("x", 60))
	}
	require.Greater(t, content.Len(), 70000)
	head := e.name(e.openPull(4, "huge", map[string]string{"stacks/b/extra.tf": e.extraFile("b", content.String())}), "head")

	e.waitBody(4, "the plan of #4", func(b string) bool { return strings.Contains(b, "line 0999") })
	comments := e.gh.Comments(4)
	require.Len(t, comments, 2, "70,000 characters of plan take two comments")
	var shape strings.Builder
	for i, c := range comments {
		assert.LessOrEqual(t, utf8.RuneCountInString(c.Body), 65536, "part %d fits GitHub's limit", i+1)
		assertBalanced(t, c.Body)
		lines := strings.Split(c.Body, "\n")
		fmt.Fprintf(&shape, "=== comment %d: first lines\n%s\n=== comment %d: last lines\n%s\n",
			i+1, strings.Join(lines[:min(14, len(lines))], "\n"), i+1, strings.Join(lines[max(len(lines)-6, 0):], "\n"))
	}
	assert.Contains(t, comments[0].Body, "line 0000")
	assert.True(t, strings.HasPrefix(comments[1].Body, "<!-- trueup:plan pr=4 part=2 -->\n(continued, part 2 of 2)"), comments[1].Body[:100])
	assertGolden(t, "huge_plan_shape", e.normalise(shape.String()))
	assert.Equal(t, "+1 ~0 -0", lastStatus(e.stackStatuses(head)["trueup/stacks/b"]).Description)
}

// A trueup that restarts with a pull request already planned at its head does not plan it again,
// and so leaves its statuses as the plan set them: "pending" would block the merge until the next push.
func TestRestartKeepsThePlannedPullRequestsStatuses(t *testing.T) {
	e := newPullsEnv(t, nil)
	head := e.openPull(1, "add-extra", map[string]string{"stacks/a/extra.tf": e.extraFile("a", "extra-v1")})
	e.waitBody(1, "the plan of stacks/a on #1", func(b string) bool { return strings.Contains(b, "✅ planned") })
	require.NoError(t, e.d.stop())
	before := e.stackStatuses(head)["trueup/stacks/a"]
	require.Equal(t, "success", lastStatus(before).State)

	again := startDaemon(t, e.cfg)
	again.waitFor("#1 followed again", func() bool { return again.logs.count("branch moved", "target", "pr:1") == 1 })
	require.NoError(t, again.stop())
	after := e.stackStatuses(head)["trueup/stacks/a"]
	assert.Equal(t, "success", lastStatus(after).State, "the status is still the plan's")
	assert.Len(t, after, len(before), "no status was set again")
	assert.Zero(t, again.logs.count("plan started"), "the plan at this head is not run again")
}
