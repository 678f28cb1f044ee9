package main

import (
	"fmt"
	"net/http"
	"testing"

	gh "github.com/google/go-github/v60/github"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/git/github/githubtest"
	"github.com/trueup/trueup/git/gitlab/gitlabtest"
	"github.com/trueup/trueup/reconciler"
)

// The forge-neutral steps of the command tests: the same story runs on GitHub and on GitLab.

// forgeNames are the forges the command tests run on.
var forgeNames = []string{"github", "gitlab"}

// newEnvOn is the pull request environment on the named forge.
func newEnvOn(t *testing.T, forge string, configure func(*Config)) *pullsEnv {
	t.Helper()
	if forge == "gitlab" {
		return newGitLabEnv(t, configure)
	}
	return newPullsEnv(t, configure)
}

// grant gives login write access (Developer on GitLab, write on GitHub) or, with write false,
// read access only (Reporter, read).
func (e *pullsEnv) grant(login string, write bool) {
	if e.gl != nil {
		level := gitlabtest.Reporter
		if write {
			level = gitlabtest.Developer
		}
		e.gl.AddUser(login, level)
		return
	}
	perm := "read"
	if write {
		perm = "write"
	}
	e.gh.SetPermission(login, perm)
}

// open opens pull request (merge request) n by alice on either forge.
func (e *pullsEnv) open(n int, branch string, files map[string]string) reconciler.Revision {
	if e.gl != nil {
		return e.openMR(n, branch, files)
	}
	return e.openPull(n, branch, files)
}

// merged tells the forge's API that n merged as rev.
func (e *pullsEnv) merged(n int, rev reconciler.Revision) {
	if e.gl != nil {
		e.gl.MergeMR(n, rev)
		return
	}
	e.gh.MergePull(n, rev)
}

// command posts body as login on pull request n and delivers the webhook that announces it (with
// uuid as the delivery id). The webhook lies: it carries a different text ("trueup help") and names a
// writer ("bob") as the author, so trueup must read the comment and its author from the API. It
// returns the comment's id.
func (e *pullsEnv) command(n int, login, body, uuid string) int64 {
	e.t.Helper()
	var id int64
	if e.gl != nil {
		id = e.gl.AddNoteBy(n, login, body)
	} else {
		id = e.gh.AddCommentBy(n, login, body)
	}
	e.redeliver(n, id, uuid)
	return id
}

// redeliver delivers the webhook announcing comment id on n again, under delivery id uuid.
func (e *pullsEnv) redeliver(n int, id int64, uuid string) {
	e.t.Helper()
	const hint, login = "trueup help (the webhook's text is only a hint)", "bob"
	var code int
	var reply string
	if e.gl != nil {
		code, reply = e.hook(testWebhookSecret, "Note Hook", uuid, e.gl.NoteHook(n, id, login, hint))
	} else {
		repo := &gh.Repository{FullName: gh.String("acme/infra")}
		event := &gh.IssueCommentEvent{
			Action: gh.String("created"), Repo: repo,
			Issue:   &gh.Issue{Number: gh.Int(n), PullRequestLinks: &gh.PullRequestLinks{URL: gh.String(fmt.Sprintf("https://api.github.com/repos/acme/infra/pulls/%d", n))}},
			Comment: &gh.IssueComment{ID: gh.Int64(id), Body: gh.String(hint), User: &gh.User{Login: gh.String(login)}},
		}
		code, reply = e.post("/webhooks/github", githubtest.SignedRequest(testWebhookSecret, "issue_comment", uuid, event))
	}
	require.Equal(e.t, http.StatusAccepted, code, reply)
}

// waitReplies waits until pull request n has want answers to commands and returns them.
func (e *pullsEnv) waitReplies(n, want int) []string {
	e.t.Helper()
	e.d.waitFor(fmt.Sprintf("%d answers on #%d", want, n), func() bool { return len(e.replies(n)) >= want })
	return e.replies(n)
}
