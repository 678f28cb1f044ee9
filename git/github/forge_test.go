package github_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/git/github"
	"github.com/trueup/trueup/git/github/githubtest"
	"github.com/trueup/trueup/reconciler"
)

const rev = reconciler.Revision("0123456789abcdef0123456789abcdef01234567")

func newForge(t *testing.T, srv *githubtest.Server, mutate ...func(*github.Options)) *github.Forge {
	t.Helper()
	opts := github.Options{Owner: srv.Owner, Repo: srv.Repo, APIURL: srv.URL(), Token: "ghp_secret"}
	for _, m := range mutate {
		m(&opts)
	}
	f, err := github.New(t.Context(), opts)
	require.NoError(t, err)
	return f
}

func report(n int, plan string) reconciler.PullReport {
	return reconciler.PullReport{Number: n, Head: rev, Stacks: []reconciler.StackReport{
		{Stack: "app", Revision: rev, Result: reconciler.ResultSucceeded, Add: 1, Rendered: plan},
	}}
}

func TestOpenPulls(t *testing.T) {
	srv := githubtest.NewServer(t)
	for i := 1; i <= 150; i++ {
		srv.AddPull(reconciler.PullRequest{Number: i, HeadBranch: fmt.Sprintf("b%d", i), Head: reconciler.Revision(fmt.Sprintf("%040d", i))})
	}
	srv.AddPull(reconciler.PullRequest{Number: 200, HeadBranch: "from-fork", Head: rev, Fork: true})
	srv.AddPull(reconciler.PullRequest{Number: 201, HeadBranch: "other", Base: "release"})
	srv.AddPull(reconciler.PullRequest{Number: 202, HeadBranch: "done", State: "closed"})

	pulls, err := newForge(t, srv).OpenPulls(t.Context(), "main")
	require.NoError(t, err)
	require.Len(t, pulls, 151)
	assert.Equal(t, 2, srv.CountRequests("GET", "/repos/acme/infra/pulls"), "two pages of 100")
	byNumber := map[int]reconciler.PullRequest{}
	for _, p := range pulls {
		byNumber[p.Number] = p
	}
	assert.Equal(t, reconciler.PullRequest{Number: 200, HeadBranch: "from-fork", Head: rev, Base: "main", Fork: true, State: "open"}, byNumber[200])
	assert.False(t, byNumber[7].Fork)
	assert.Equal(t, reconciler.Revision(fmt.Sprintf("%040d", 7)), byNumber[7].Head)
	for _, r := range srv.Requests() {
		assert.Equal(t, "Bearer ghp_secret", r.Authorization)
	}
}

func TestPull(t *testing.T) {
	srv := githubtest.NewServer(t)
	srv.AddPull(reconciler.PullRequest{Number: 4, Title: "Add bucket", HeadBranch: "bucket", Head: rev})
	srv.MergePull(4, "fedcba9876543210fedcba9876543210fedcba98")
	f := newForge(t, srv)

	pr, err := f.Pull(t.Context(), 4)
	require.NoError(t, err)
	assert.Equal(t, reconciler.PullRequest{Number: 4, Title: "Add bucket", HeadBranch: "bucket", Head: rev, Base: "main",
		State: "closed", Merged: true, MergeCommit: "fedcba9876543210fedcba9876543210fedcba98"}, pr)

	_, err = f.Pull(t.Context(), 99)
	require.ErrorIs(t, err, reconciler.ErrNotFound)
	assert.Equal(t, reconciler.KindFailed, reconciler.KindOf(err))
}

func TestServerErrorsAreTransient(t *testing.T) {
	srv := githubtest.NewServer(t)
	f := newForge(t, srv)
	srv.FailNext(1, 502)
	_, err := f.OpenPulls(t.Context(), "main")
	require.Error(t, err)
	assert.Equal(t, reconciler.KindTransient, reconciler.KindOf(err))
	_, err = f.OpenPulls(t.Context(), "main")
	require.NoError(t, err)
}

func TestCommentLifecycle(t *testing.T) {
	srv := githubtest.NewServer(t)
	ctx := t.Context()
	f := newForge(t, srv)

	// The first comment is created.
	require.NoError(t, f.Comment(ctx, report(5, "plan one")))
	cs := srv.Comments(5)
	require.Len(t, cs, 1)
	id := cs[0].ID
	assert.True(t, strings.HasPrefix(cs[0].Body, "<!-- trueup:plan pr=5 part=1 -->\n### trueup plan for `01234567`"), cs[0].Body)
	assert.Contains(t, cs[0].Body, "plan one")

	// The second edits it in place.
	require.NoError(t, f.Comment(ctx, report(5, "plan two")))
	cs = srv.Comments(5)
	require.Len(t, cs, 1)
	assert.Equal(t, id, cs[0].ID)
	assert.Contains(t, cs[0].Body, "plan two")
	assert.Equal(t, 1, srv.CountRequests("GET", "/repos/acme/infra/issues/5/comments"), "ids are cached after the first lookup")

	// The same report again changes nothing.
	before := len(srv.Requests())
	require.NoError(t, f.Comment(ctx, report(5, "plan two")))
	assert.Len(t, srv.Requests(), before)

	// After a restart, the comment is found by its marker among others and edited.
	srv.AddComment(5, "LGTM")
	srv.AddComment(5, "> <!-- trueup:plan pr=5 part=1 -->\n> quoted by a person")
	restarted := newForge(t, srv)
	require.NoError(t, restarted.Comment(ctx, report(5, "plan three")))
	cs = srv.Comments(5)
	require.Len(t, cs, 3)
	assert.Equal(t, id, cs[0].ID)
	assert.Contains(t, cs[0].Body, "plan three")
	assert.Equal(t, 0, srv.CountRequests("POST", "/repos/acme/infra/issues/5/comments")-1, "one comment ever created")

	// A report too long for one comment takes two; shrinking back deletes the second.
	big := strings.Repeat("  + resource \"local_file\" \"f\" { content = \"0123456789\" }\n", 1300)
	require.Greater(t, len(big), 70000)
	require.NoError(t, restarted.Comment(ctx, report(5, big)))
	cs = srv.Comments(5)
	require.Len(t, cs, 4)
	assert.Equal(t, id, cs[0].ID)
	assert.True(t, strings.HasPrefix(cs[3].Body, "<!-- trueup:plan pr=5 part=2 -->\n(continued, part 2 of 2)"), cs[3].Body[:80])
	for _, c := range cs {
		assert.LessOrEqual(t, len([]rune(c.Body)), 65536)
	}

	require.NoError(t, newForge(t, srv).Comment(ctx, report(5, "small again")))
	cs = srv.Comments(5)
	require.Len(t, cs, 3)
	assert.Equal(t, id, cs[0].ID)
	assert.Contains(t, cs[0].Body, "small again")
	assert.Equal(t, "LGTM", cs[1].Body)
}

func TestCommentRecreatedWhenDeletedByAPerson(t *testing.T) {
	srv := githubtest.NewServer(t)
	f := newForge(t, srv)
	require.NoError(t, f.Comment(t.Context(), report(6, "one")))
	id := srv.Comments(6)[0].ID
	require.True(t, srv.DeleteComment(id))

	require.NoError(t, f.Comment(t.Context(), report(6, "two")))
	cs := srv.Comments(6)
	require.Len(t, cs, 1)
	assert.Contains(t, cs[0].Body, "two")
}

func TestCommentFailureRelooksUp(t *testing.T) {
	srv := githubtest.NewServer(t)
	f := newForge(t, srv)
	require.NoError(t, f.Comment(t.Context(), report(8, "one")))
	srv.FailNext(1, 500)
	err := f.Comment(t.Context(), report(8, "two"))
	require.Error(t, err)
	assert.Equal(t, reconciler.KindTransient, reconciler.KindOf(err))
	require.NoError(t, f.Comment(t.Context(), report(8, "two")))
	cs := srv.Comments(8)
	require.Len(t, cs, 1)
	assert.Contains(t, cs[0].Body, "two")
	assert.Equal(t, 2, srv.CountRequests("GET", "/repos/acme/infra/issues/8/comments"), "a failure drops the cached ids")
}

func TestSetStatus(t *testing.T) {
	srv := githubtest.NewServer(t)
	f := newForge(t, srv)
	require.NoError(t, f.SetStatus(t.Context(), rev, "net@prod", reconciler.StatusPending, "planning"))
	long := strings.Repeat("+1 ~0 -0 ", 30)
	require.NoError(t, f.SetStatus(t.Context(), rev, "net@prod", reconciler.StatusSuccess, long))

	sts := srv.Statuses(string(rev))
	require.Len(t, sts, 2)
	assert.Equal(t, githubtest.Status{State: "pending", Context: "trueup/net@prod", Description: "planning"}, sts[0])
	assert.Equal(t, "success", sts[1].State)
	assert.Len(t, []rune(sts[1].Description), 140)
	assert.True(t, strings.HasPrefix(sts[1].Description, "+1 ~0 -0 +1 ~0 -0"))
}

func TestEnterpriseURLForms(t *testing.T) {
	srv := githubtest.NewServer(t)
	for _, api := range []string{srv.URL(), srv.URL() + "/api/v3", srv.URL() + "/api/v3/"} {
		f := newForge(t, srv, func(o *github.Options) { o.APIURL = api })
		_, err := f.OpenPulls(t.Context(), "main")
		require.NoError(t, err, api)
	}
}

func TestTokens(t *testing.T) {
	srv := githubtest.NewServer(t)
	f := newForge(t, srv)
	tok, err := f.GitToken(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "ghp_secret", tok)

	calls := 0
	f = newForge(t, srv, func(o *github.Options) {
		o.Token = ""
		o.TokenFunc = func(context.Context) (string, error) { calls++; return fmt.Sprintf("rotated-%d", calls), nil }
	})
	require.NoError(t, f.SetStatus(t.Context(), rev, "app", reconciler.StatusSuccess, "ok"))
	reqs := srv.Requests()
	assert.Equal(t, "Bearer rotated-1", reqs[len(reqs)-1].Authorization)

	f = newForge(t, srv, func(o *github.Options) { o.Token = "" })
	_, err = f.GitToken(t.Context())
	assert.Error(t, err)
}

func TestAppUsesCheckRunsAndInstallationToken(t *testing.T) {
	srv := githubtest.NewServer(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	keyFile := filepath.Join(t.TempDir(), "app.pem")
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600))

	f := newForge(t, srv, func(o *github.Options) {
		o.Token, o.AppID, o.InstallationID, o.PrivateKeyFile = "", 42, 77, keyFile
	})
	require.NoError(t, f.SetStatus(t.Context(), rev, "app", reconciler.StatusPending, "planning"))
	require.NoError(t, f.SetStatus(t.Context(), rev, "app", reconciler.StatusFailure, "plan failed"))

	runs := srv.CheckRuns()
	require.Len(t, runs, 2)
	assert.Equal(t, githubtest.CheckRun{ID: runs[0].ID, Name: "trueup/app", HeadSHA: string(rev), Status: "in_progress", Title: "Planning", Summary: "planning"}, runs[0])
	assert.Equal(t, "completed", runs[1].Status)
	assert.Equal(t, "failure", runs[1].Conclusion)
	assert.Empty(t, srv.Statuses(string(rev)))

	tok, err := f.GitToken(t.Context())
	require.NoError(t, err)
	assert.Equal(t, srv.Token, tok)
	assert.Equal(t, 1, srv.CountRequests("POST", "/app/installations/77/access_tokens"), "the token is cached")
	for _, r := range srv.Requests() {
		if strings.HasPrefix(r.Path, "/repos/") {
			assert.Equal(t, "token "+srv.Token, r.Authorization)
		}
	}
}

func TestNewRejectsIncompleteOptions(t *testing.T) {
	_, err := github.New(t.Context(), github.Options{Repo: "infra"})
	assert.Error(t, err)
	_, err = github.New(t.Context(), github.Options{Owner: "acme", Repo: "infra", AppID: 1})
	assert.Error(t, err)
}
