package main

import (
	"fmt"
	"testing"

	"github.com/trueup/trueup/git/gitlab/gitlabtest"
	"github.com/trueup/trueup/reconciler"
)

// newGitLabEnv is newPullsEnv with the GitLab API stand-in as the forge: the same repository (stacks/a
// and stacks/b), merge request heads under refs/merge-requests/N/head.
func newGitLabEnv(t *testing.T, configure func(*Config)) *pullsEnv {
	t.Helper()
	return newForgeEnv(t, func(out string) map[string]string {
		return map[string]string{
			"stacks/a/main.tf": localStack(out, "a", "a-v1", ""),
			"stacks/b/main.tf": localStack(out, "b", "b-v1", ""),
			"README.md":        "# infra\n",
		}
	}, configure, true)
}

// openMR commits files on a new branch and opens merge request !n (by alice) for it, as GitLab does:
// the API lists it, then the branch and refs/merge-requests/n/head appear on the remote.
func (e *pullsEnv) openMR(n int, branch string, files map[string]string) reconciler.Revision {
	e.t.Helper()
	head := e.commitOnBranch(branch, fmt.Sprintf("change for !%d", n), files)
	e.gl.AddMR(reconciler.PullRequest{Number: n, Title: branch, HeadBranch: branch, Head: head, Base: "main", Author: "alice"})
	e.remote.Push(branch)
	e.remote.SetMergeRequestRef(n, head)
	return head
}

// pushToMR adds a commit to merge request !n's branch.
func (e *pullsEnv) pushToMR(n int, branch string, files map[string]string) reconciler.Revision {
	e.t.Helper()
	head := e.commitOnBranch(branch, fmt.Sprintf("more for !%d", n), files)
	e.remote.Push(branch)
	e.remote.SetMergeRequestRef(n, head)
	e.gl.UpdateMR(n, func(p *reconciler.PullRequest) { p.Head = head })
	return head
}

// mrStatuses returns the commit statuses trueup set on rev in GitLab, by name, latest last.
func (e *pullsEnv) mrStatuses(rev reconciler.Revision) map[string][]gitlabtest.Status {
	out := map[string][]gitlabtest.Status{}
	for _, s := range e.gl.Statuses(string(rev)) {
		out[s.Name] = append(out[s.Name], s)
	}
	return out
}

// hook posts a GitLab webhook delivery to the daemon and returns the status code and body.
func (e *pullsEnv) hook(token, event, uuid string, payload any) (int, string) {
	e.t.Helper()
	return e.post("/webhooks/gitlab", gitlabtest.Hook(token, event, uuid, payload))
}

// replies are trueup's answers to commands on pull request n, oldest first.
func (e *pullsEnv) replies(n int) []string { return e.threadOf(n, "<!-- trueup:reply ") }
