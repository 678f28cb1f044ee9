package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	gh "github.com/google/go-github/v60/github"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/git/github/githubtest"
	"github.com/trueup/trueup/git/gitlab/gitlabtest"
	"github.com/trueup/trueup/git/gittest"
	"github.com/trueup/trueup/reconciler"
)

// update rewrites golden files under testdata/ instead of comparing with them (go test -update).
var update = flag.Bool("update", false, "rewrite golden files")

// Secrets the pull request tests give the daemon through its environment.
const (
	testGitHubToken   = "ghp_test_token"
	testWebhookSecret = "webhook-secret"
	testAPIToken      = "api-token"
)

// pullsEnv is trueup following a real bare repository (stacks/a and stacks/b, one local_file each) with
// the GitHub API stand-in as its forge.
type pullsEnv struct {
	t      *testing.T
	out    string // where the stacks write their files
	remote *gittest.Remote
	gh     *githubtest.Server
	gl     *gitlabtest.Server // set instead of gh by newGitLabEnv
	cfg    Config
	d      *daemon
	// names maps revisions to stable names for golden files.
	names map[reconciler.Revision]string
}

// newPullsEnv pushes the initial repository, starts the daemon (after configure, which may be nil)
// and waits for both stacks to be applied.
func newPullsEnv(t *testing.T, configure func(*Config)) *pullsEnv {
	t.Helper()
	return newPullsEnvWith(t, func(out string) map[string]string {
		return map[string]string{
			"stacks/a/main.tf": localStack(out, "a", "a-v1", ""),
			"stacks/b/main.tf": localStack(out, "b", "b-v1", ""),
			"README.md":        "# infra\n",
		}
	}, configure)
}

// newPullsEnvWith is newPullsEnv with the initial files given by files(out): two stacks that apply.
func newPullsEnvWith(t *testing.T, files func(out string) map[string]string, configure func(*Config)) *pullsEnv {
	t.Helper()
	return newForgeEnv(t, files, configure, false)
}

// newForgeEnv is newPullsEnvWith against the GitHub stand-in, or with gitlab the GitLab one.
func newForgeEnv(t *testing.T, files func(out string) map[string]string, configure func(*Config), gitlab bool) *pullsEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: real git, Terraform and a GitHub or GitLab API stand-in")
	}
	e := &pullsEnv{t: t, out: t.TempDir(), remote: gittest.NewRemote(t), names: map[reconciler.Revision]string{}}
	initial := e.remote.CommitAndPush("initial infrastructure", files(e.out))
	e.name(initial, "initial")

	t.Setenv("TRUEUP_API_TOKEN", testAPIToken)
	e.cfg = testConfig(t, e.remote.URL(), t.TempDir())
	if gitlab {
		e.gl = gitlabtest.NewServer(t)
		t.Setenv("GITLAB_TOKEN", e.gl.Token)
		t.Setenv("GITLAB_WEBHOOK_SECRET", testWebhookSecret)
		e.cfg.GitLab = GitLabConfig{
			Project: e.gl.Project, APIURL: e.gl.URL(), TokenEnv: "GITLAB_TOKEN", WebhookSecretEnv: "GITLAB_WEBHOOK_SECRET",
		}
	} else {
		e.gh = githubtest.NewServer(t)
		t.Setenv("GITHUB_TOKEN", testGitHubToken)
		t.Setenv("GITHUB_WEBHOOK_SECRET", testWebhookSecret)
		e.cfg.GitHub = GitHubConfig{
			Owner: "acme", Repo: "infra", APIURL: e.gh.URL(),
			TokenEnv: "GITHUB_TOKEN", WebhookSecretEnv: "GITHUB_WEBHOOK_SECRET",
		}
	}
	e.cfg.API.TokenEnv = "TRUEUP_API_TOKEN"
	// The stacks' local files live outside the sandbox of branch plans: show them, read-only, so a
	// branch plan sees the real world as main's does.
	e.cfg.Terraform.SandboxReadOnly = []string{e.out}
	if configure != nil {
		configure(&e.cfg)
	}
	e.d = startDaemon(t, e.cfg)
	e.d.waitFor("both stacks applied", func() bool { return e.d.logs.count("apply finished") == 2 })
	return e
}

// name gives rev a stable name in golden files.
func (e *pullsEnv) name(rev reconciler.Revision, name string) reconciler.Revision {
	e.names[rev] = name
	return rev
}

// extraFile is a second local_file for a stack, in its own file so that it merges cleanly.
func (e *pullsEnv) extraFile(stack, content string) string {
	return fmt.Sprintf("resource \"local_file\" \"extra\" {\n  filename = %q\n  content  = %q\n}\n",
		filepath.Join(e.out, stack+"-extra.txt"), content)
}

// commitOnBranch commits files on branch (created from main when new) without pushing anything.
func (e *pullsEnv) commitOnBranch(branch, msg string, files map[string]string) reconciler.Revision {
	e.t.Helper()
	if strings.Contains(e.remote.Git("branch", "--list", branch), branch) {
		e.remote.Checkout(branch)
	} else {
		e.remote.Checkout("main")
		e.remote.Branch(branch)
	}
	e.remote.WriteFiles(files)
	return e.remote.Commit(msg)
}

// openPull commits files on a new branch and opens pull request n for it, as GitHub does: the API
// lists it, then the branch and refs/pull/n/head appear on the remote.
func (e *pullsEnv) openPull(n int, branch string, files map[string]string) reconciler.Revision {
	e.t.Helper()
	head := e.commitOnBranch(branch, fmt.Sprintf("change for #%d", n), files)
	e.gh.AddPull(reconciler.PullRequest{Number: n, Title: branch, HeadBranch: branch, Head: head, Base: "main", Author: "alice"})
	e.remote.Push(branch)
	e.remote.SetPullRef(n, head)
	return head
}

// pushToPull adds a commit to pull request n's branch.
func (e *pullsEnv) pushToPull(n int, branch string, files map[string]string) reconciler.Revision {
	e.t.Helper()
	head := e.commitOnBranch(branch, fmt.Sprintf("more for #%d", n), files)
	e.remote.Push(branch)
	e.remote.SetPullRef(n, head)
	e.gh.UpdatePull(n, func(p *reconciler.PullRequest) { p.Head = head })
	return head
}

// body is every plan comment (or GitLab note) on pull request n, oldest first, joined by a separator line.
func (e *pullsEnv) body(n int) string {
	return strings.Join(e.threadOf(n, "<!-- trueup:plan "), "\n\n----- next comment -----\n\n")
}

// threadOf is the bodies of pull request n's comments that start with prefix ("" for all), oldest first.
func (e *pullsEnv) threadOf(n int, prefix string) []string {
	var bodies []string
	if e.gl != nil {
		for _, c := range e.gl.Notes(n) {
			bodies = append(bodies, c.Body)
		}
	} else {
		for _, c := range e.gh.Comments(n) {
			bodies = append(bodies, c.Body)
		}
	}
	var out []string
	for _, b := range bodies {
		if strings.HasPrefix(b, prefix) {
			out = append(out, b)
		}
	}
	return out
}

// waitBody waits until pull request n's comments satisfy cond and returns them joined.
func (e *pullsEnv) waitBody(n int, what string, cond func(body string) bool) string {
	e.t.Helper()
	e.d.waitFor(what, func() bool { return cond(e.body(n)) })
	return e.body(n)
}

// plansStarted counts the plans started for target at rev.
func (e *pullsEnv) plansStarted(target string, rev reconciler.Revision) int {
	return e.d.logs.count("plan started", "target", target, "rev", rev.Short())
}

// listen is the daemon's HTTP address.
func (e *pullsEnv) listen() string {
	e.t.Helper()
	var addr string
	e.d.waitFor("trueup started", func() bool {
		started := e.d.logs.entries("trueup started")
		if len(started) == 0 {
			return false
		}
		addr, _ = started[0]["listen"].(string)
		return addr != ""
	})
	return addr
}

// post sends req (a webhook from githubtest) to the daemon's path and returns the status and body.
func (e *pullsEnv) post(path string, req *http.Request) (int, string) {
	e.t.Helper()
	body, err := io.ReadAll(req.Body)
	require.NoError(e.t, err)
	out, err := http.NewRequest(http.MethodPost, "http://"+e.listen()+path, bytes.NewReader(body))
	require.NoError(e.t, err)
	out.Header = req.Header.Clone()
	resp, err := http.DefaultClient.Do(out)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	reply, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(reply)
}

// approve asks the daemon's API to apply the held revision of stack.
func (e *pullsEnv) approve(stack string, rev reconciler.Revision) (int, string) {
	e.t.Helper()
	body, _ := json.Marshal(map[string]string{"revision": string(rev)})
	req, err := http.NewRequest(http.MethodPost, "http://"+e.listen()+"/api/v1/stacks/"+stack+"/approve", bytes.NewReader(body))
	require.NoError(e.t, err)
	req.Header.Set("Authorization", "Bearer "+testAPIToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	reply, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(reply)
}

// pullEvent is a pull_request webhook payload for acme/infra.
func pullEvent(action string, n int, branch string, head reconciler.Revision) *gh.PullRequestEvent {
	repo := &gh.Repository{FullName: gh.String("acme/infra")}
	return &gh.PullRequestEvent{
		Action: gh.String(action),
		Number: gh.Int(n),
		Repo:   repo,
		PullRequest: &gh.PullRequest{
			Number: gh.Int(n),
			State:  gh.String("open"),
			Head:   &gh.PullRequestBranch{Ref: gh.String(branch), SHA: gh.String(string(head)), Repo: repo},
			Base:   &gh.PullRequestBranch{Ref: gh.String("main"), Repo: repo},
		},
	}
}

// stackStatuses returns the commit statuses trueup set on rev, by context, latest last.
func (e *pullsEnv) stackStatuses(rev reconciler.Revision) map[string][]githubtest.Status {
	out := map[string][]githubtest.Status{}
	for _, s := range e.gh.Statuses(string(rev)) {
		out[s.Context] = append(out[s.Context], s)
	}
	return out
}

// hexRE matches commit hashes left after the named ones were replaced.
var hexRE = regexp.MustCompile(`\b[0-9a-f]{40}\b|\b[0-9a-f]{7}\b`)

// normalise makes a comment body stable: named revisions (full or short) become <name>, other hashes
// <sha>, and the test's temporary output directory <out>.
func (e *pullsEnv) normalise(body string) string {
	revs := make([]reconciler.Revision, 0, len(e.names))
	for rev := range e.names {
		revs = append(revs, rev)
	}
	sort.Slice(revs, func(i, j int) bool { return revs[i] < revs[j] })
	for _, rev := range revs {
		body = strings.ReplaceAll(body, string(rev), "<"+e.names[rev]+">")
		body = strings.ReplaceAll(body, rev.Short(), "<"+e.names[rev]+">")
	}
	body = strings.ReplaceAll(body, e.out, "<out>")
	return hexRE.ReplaceAllString(body, "<sha>")
}

// assertGolden compares got with testdata/pulls/<name>.golden, or rewrites it under -update.
func assertGolden(t *testing.T, name, got string) {
	t.Helper()
	assertGoldenFile(t, filepath.Join("testdata", "pulls", name+".golden"), got, "comment")
}

// assertGoldenFile compares got, text a person reads (what), with the golden file at path, or
// rewrites the file under -update.
func assertGoldenFile(t *testing.T, path, got, what string) {
	t.Helper()
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "golden file missing: run go test ./cmd/trueup -run %s -update", t.Name())
	assert.Equal(t, string(want), got, "%s differs from %s (rerun with -update after checking the change)", what, path)
}

// assertBalanced checks that a comment part opens and closes its code fences and <details> blocks.
func assertBalanced(t *testing.T, part string) {
	t.Helper()
	fences := 0
	for line := range strings.SplitSeq(part, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fences++
		}
	}
	assert.Zero(t, fences%2, "every code fence is closed in its part")
	assert.Equal(t, strings.Count(part, "<details"), strings.Count(part, "</details>"), "every <details> is closed in its part")
}
