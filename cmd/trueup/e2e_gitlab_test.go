package main

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
)

// A merge request gets one living note and a status per affected stack; a new commit edits that note;
// its merge is applied at the merge commit and the note says so.
func TestGitLabMergeRequestNoteStatusesAndMerge(t *testing.T) {
	e := newGitLabEnv(t, nil)
	d := e.d

	head1 := e.name(e.openMR(1, "add-extra", map[string]string{"stacks/a/extra.tf": e.extraFile("a", "extra-v1")}), "head1")
	body := e.waitBody(1, "the plan of stacks/a on !1", func(b string) bool {
		return strings.Contains(b, "✅ planned") && strings.Contains(b, head1.Short())
	})
	assertGolden(t, "gitlab_opened", e.normalise(body))
	require.Len(t, e.gl.Notes(1), 1, "one note per merge request")
	statuses := e.mrStatuses(head1)
	require.Contains(t, statuses, "trueup/stacks/a")
	assert.NotContains(t, statuses, "trueup/stacks/b", "a status for the affected stack only")
	assert.Equal(t, "running", statuses["trueup/stacks/a"][0].State)
	last := statuses["trueup/stacks/a"][len(statuses["trueup/stacks/a"])-1]
	assert.Equal(t, "success", last.State)
	assert.Equal(t, "+1 ~0 -0", last.Description)
	assert.Equal(t, 1, e.plansStarted("pr:1", head1))

	// A new commit edits the same note.
	head2 := e.name(e.pushToMR(1, "add-extra", map[string]string{"stacks/a/extra.tf": e.extraFile("a", "extra-v2")}), "head2")
	body = e.waitBody(1, "the plan at the new head", func(b string) bool {
		return strings.Contains(b, "`"+head2.Short()+"`") && strings.Contains(b, "✅ planned")
	})
	assertGolden(t, "gitlab_new_commit", e.normalise(body))
	assert.Len(t, e.gl.Notes(1), 1, "the note is edited, not posted again")
	assert.Positive(t, e.gl.CountRequests("PUT", "/api/v4/projects/P/merge_requests/1/notes/"))

	// GitLab merges: the API says so, then main is pushed.
	e.remote.Checkout("main")
	e.remote.Git("merge", "--quiet", "--no-ff", "--no-edit", "-m", "Merge branch 'add-extra' into 'main'", "add-extra")
	merge := e.name(e.remote.Rev("HEAD"), "merge")
	e.gl.MergeMR(1, merge)
	d.waitFor("the merge recorded", func() bool { return d.logs.count("pull request merged", "pr", "1") == 1 })
	e.remote.Push("main")

	d.waitFor("the merge applied", func() bool { return d.logs.count("apply finished", "stack", "stacks/a", "rev", merge.Short()) == 1 })
	assert.Equal(t, "extra-v2", readFile(t, filepath.Join(e.out, "a-extra.txt")))
	body = e.waitBody(1, "the apply shown on !1", func(b string) bool { return strings.Contains(b, "✅ applied") })
	assertGolden(t, "gitlab_merged", e.normalise(body))
	assert.Len(t, e.gl.Notes(1), 1, "still one note")
	assert.Zero(t, d.logs.count("apply held: the merged plan differs from the reviewed one"))
}

// A merge request from a fork is not planned, and its note says why.
func TestGitLabMergeRequestFromForkIsNotPlanned(t *testing.T) {
	e := newGitLabEnv(t, nil)
	d := e.d
	// The fork's commit reaches the project only as refs/merge-requests/2/head, as on GitLab.
	head := e.name(e.commitOnBranch("fork-main", "contributor's change", map[string]string{"stacks/a/extra.tf": e.extraFile("a", "from a fork")}), "fork")
	e.gl.AddMR(reconciler.PullRequest{Number: 2, Title: "fork", HeadBranch: "main", Head: head, Fork: true, Author: "mallory"})
	e.remote.SetMergeRequestRef(2, head)

	body := e.waitBody(2, "the fork's note", func(b string) bool { return strings.Contains(b, "fork") })
	assertGolden(t, "gitlab_fork", e.normalise(body))
	assert.Equal(t, 1, d.logs.count("pull request from a fork: not planned (allow_forks is false)", "pr", "2"))
	assert.Zero(t, d.logs.count("plan started", "target", "pr:2"))
	assert.Empty(t, e.gl.Statuses(string(head)), "no status: nothing ran")
	assert.NoFileExists(t, filepath.Join(e.out, "a-extra.txt"))
	assert.False(t, isDir(filepath.Join(e.cfg.DataDir, "work", reconciler.Slug("pr:2"))), "the fork's code was never checked out")
}

// Webhooks wake trueup only with the secret token, and a redelivery runs nothing twice. Polling is
// slowed to an hour so that only webhooks can make trueup look at the merge request.
func TestGitLabWebhooks(t *testing.T) {
	e := newGitLabEnv(t, func(cfg *Config) { cfg.Repo.PollInterval = time.Hour })
	d := e.d
	head1 := e.openMR(1, "add-extra", map[string]string{"stacks/a/extra.tf": e.extraFile("a", "extra-v1")})
	listed := e.gl.CountRequests("GET", "/api/v4/projects/P/merge_requests")
	mr := reconciler.PullRequest{Number: 1, Title: "add-extra", HeadBranch: "add-extra", Head: head1}
	opened := e.gl.MergeRequestHook("open", mr)

	code, reply := e.hook("not-the-secret", "Merge Request Hook", "uuid-1", opened)
	assert.Equal(t, http.StatusUnauthorized, code, reply)
	code, reply = e.hook("", "Merge Request Hook", "uuid-1", opened)
	assert.Equal(t, http.StatusUnauthorized, code, reply)
	big := `{"object_kind":"push","padding":"` + strings.Repeat("x", 26<<20) + `"}`
	code, _ = e.hook(testWebhookSecret, "Push Hook", "uuid-big", big)
	assert.Equal(t, http.StatusRequestEntityTooLarge, code)
	// Nothing to wait for when nothing happens: give a wrongly woken poll time to show up.
	time.Sleep(time.Second)
	assert.Equal(t, listed, e.gl.CountRequests("GET", "/api/v4/projects/P/merge_requests"), "a refused webhook does not poll")
	assert.Zero(t, d.logs.count("branch moved", "target", "pr:1"))

	// The same uuid with the right token is accepted: refused deliveries are not remembered.
	code, reply = e.hook(testWebhookSecret, "Merge Request Hook", "uuid-1", opened)
	assert.Equal(t, http.StatusAccepted, code, reply)
	d.waitFor("!1 planned", func() bool { return d.logs.count("plan finished", "target", "pr:1", "rev", head1.Short()) == 1 })
	code, reply = e.hook(testWebhookSecret, "Merge Request Hook", "uuid-1", opened)
	assert.Equal(t, http.StatusOK, code, reply)
	assert.Contains(t, reply, "duplicate")

	// A new commit, announced by a push and an update, is planned; the redelivery ran nothing.
	head2 := e.pushToMR(1, "add-extra", map[string]string{"stacks/a/extra.tf": e.extraFile("a", "extra-v2")})
	mr.Head = head2
	code, _ = e.hook(testWebhookSecret, "Push Hook", "uuid-2", e.gl.PushHook("add-extra", head1, head2))
	assert.Equal(t, http.StatusAccepted, code)
	code, _ = e.hook(testWebhookSecret, "Merge Request Hook", "uuid-3", e.gl.MergeRequestHook("update", mr))
	assert.Equal(t, http.StatusAccepted, code)
	d.waitFor("the new head planned", func() bool { return d.logs.count("plan finished", "target", "pr:1", "rev", head2.Short()) == 1 })
	assert.Equal(t, 1, e.plansStarted("pr:1", head1), "one plan for the first head, however often it was announced")
	assert.Equal(t, 1, e.plansStarted("pr:1", head2))
	assert.Equal(t, 1, d.logs.count("duplicate webhook delivery", "delivery", "uuid-1"))
	assert.Len(t, e.gl.Notes(1), 1)
}

// A GitLab token the API refuses gets 401s: nothing is planned, nothing posted, main is not applied
// as if unreviewed, and the token never reaches the log.
func TestGitLabBadToken(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	e := newGitLabEnv(t, nil)
	e.d.stop()
	e.openMR(3, "b-v2", map[string]string{"stacks/b/main.tf": localStack(e.out, "b", "b-v2", "")})
	t.Setenv("GITLAB_TOKEN", "glpat-revoked-token")
	cfg := e.cfg
	d := startDaemon(t, cfg)
	d.waitFor("the API's refusal logged", func() bool {
		return d.logs.count("list open pull requests; main waits until the forge answers") > 0
	})
	assert.Contains(t, d.logs.String(), "401")
	assert.NotContains(t, d.logs.String(), "glpat-revoked-token", "the token is never logged")
	assert.Empty(t, e.gl.Notes(3))
	assert.Zero(t, d.logs.count("plan started", "target", "pr:3"))
}

// With allow_forks, a fork's merge request is planned from refs/merge-requests/N/head: its branch is
// in the contributor's project, never in this one.
func TestGitLabForkPlannedWhenAllowed(t *testing.T) {
	e := newGitLabEnv(t, func(cfg *Config) { cfg.GitLab.AllowForks = true })
	d := e.d
	head := e.commitOnBranch("fork-work", "contributor's change", map[string]string{"stacks/a/extra.tf": e.extraFile("a", "from a fork")})
	e.gl.AddMR(reconciler.PullRequest{Number: 5, Title: "fork", HeadBranch: "main", Head: head, Fork: true, Author: "mallory"})
	e.remote.SetMergeRequestRef(5, head)

	e.waitBody(5, "the fork's plan", func(b string) bool { return strings.Contains(b, "✅ planned") })
	assert.Equal(t, 1, d.logs.count("plan finished", "target", "pr:5", "stack", "stacks/a", "rev", head.Short()))
	assert.NoFileExists(t, filepath.Join(e.out, "a-extra.txt"), "planned, never applied")
}

// A Note Hook with the right token but a comment that does not exist, or that is another merge
// request's, runs and answers nothing: the comment is read from the API.
func TestGitLabForgedNoteHookDoesNothing(t *testing.T) {
	e := newGitLabEnv(t, nil)
	d := e.d
	e.grant("bob", true)
	e.openMR(1, "add-extra", map[string]string{"stacks/a/extra.tf": e.extraFile("a", "extra-v1")})
	e.waitBody(1, "the plan of !1", func(b string) bool { return strings.Contains(b, "✅ planned") })
	other := e.gl.AddNoteBy(2, "bob", "trueup plan")

	code, _ := e.hook(testWebhookSecret, "Note Hook", "n-1", e.gl.NoteHook(1, 987654, "bob", "trueup plan"))
	assert.Equal(t, http.StatusAccepted, code)
	code, _ = e.hook(testWebhookSecret, "Note Hook", "n-2", e.gl.NoteHook(1, other, "bob", "trueup plan"))
	assert.Equal(t, http.StatusAccepted, code)
	d.waitFor("both reads refused", func() bool { return d.logs.count("cannot read a comment command; dropped") == 2 })
	assert.Empty(t, e.replies(1))
	assert.Zero(t, d.logs.count("comment command"))
}
