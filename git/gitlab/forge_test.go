package gitlab_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/git/forgetext"
	"github.com/trueup/trueup/git/gitlab"
	"github.com/trueup/trueup/git/gitlab/gitlabtest"
	"github.com/trueup/trueup/reconciler"
)

const (
	rev   = reconciler.Revision("0123456789abcdef0123456789abcdef01234567")
	merge = reconciler.Revision("fedcba9876543210fedcba9876543210fedcba98")
)

func newForge(t *testing.T, srv *gitlabtest.Server, mutate ...func(*gitlab.Options)) *gitlab.Forge {
	t.Helper()
	opts := gitlab.Options{Project: srv.Project, APIURL: srv.URL(), Token: srv.Token}
	for _, m := range mutate {
		m(&opts)
	}
	f, err := gitlab.New(t.Context(), opts)
	require.NoError(t, err)
	return f
}

func report(n int, plan string) reconciler.PullReport {
	return reconciler.PullReport{Number: n, Head: rev, Stacks: []reconciler.StackReport{
		{Stack: "app", Revision: rev, Result: reconciler.ResultSucceeded, Add: 1, Rendered: plan},
	}}
}

func TestOpenPulls(t *testing.T) {
	srv := gitlabtest.NewServer(t)
	for i := 1; i <= 150; i++ {
		srv.AddMR(reconciler.PullRequest{Number: i, HeadBranch: fmt.Sprintf("b%d", i), Head: reconciler.Revision(fmt.Sprintf("%040d", i))})
	}
	srv.AddMR(reconciler.PullRequest{Number: 200, HeadBranch: "main", Head: rev, Fork: true, Author: "mallory"})
	srv.AddMR(reconciler.PullRequest{Number: 201, HeadBranch: "other", Base: "release"})
	srv.AddMR(reconciler.PullRequest{Number: 202, HeadBranch: "done", State: "closed"})
	srv.AddMR(reconciler.PullRequest{Number: 203, HeadBranch: "merging", State: "locked", Head: rev})
	srv.AddMR(reconciler.PullRequest{Number: 204, HeadBranch: "merged", Head: rev, State: "closed", Merged: true, MergeCommit: merge})

	pulls, err := newForge(t, srv).OpenPulls(t.Context(), "main")
	require.NoError(t, err)
	require.Len(t, pulls, 152)
	assert.Equal(t, 3, srv.CountRequests("GET", "/api/v4/projects/P/merge_requests"), "two pages of open ones, one of locked ones")
	byNumber := map[int]reconciler.PullRequest{}
	for _, p := range pulls {
		byNumber[p.Number] = p
	}
	assert.Equal(t, reconciler.PullRequest{Number: 200, HeadBranch: "main", Head: rev, Base: "main", Fork: true, State: "open", Author: "mallory"}, byNumber[200])
	assert.False(t, byNumber[7].Fork)
	assert.Equal(t, "alice", byNumber[7].Author)
	assert.Equal(t, "open", byNumber[203].State, "a merge request being merged is still open")
	for _, r := range srv.Requests() {
		assert.Equal(t, "main", r.Query.Get("target_branch"))
	}
}

func TestPull(t *testing.T) {
	srv := gitlabtest.NewServer(t)
	srv.AddMR(reconciler.PullRequest{Number: 4, Title: "Add bucket", HeadBranch: "bucket", Head: rev})
	srv.MergeMR(4, merge)
	srv.AddMR(reconciler.PullRequest{Number: 5, HeadBranch: "gone", Head: rev, State: "closed"})
	f := newForge(t, srv)

	pr, err := f.Pull(t.Context(), 4)
	require.NoError(t, err)
	assert.Equal(t, reconciler.PullRequest{Number: 4, Title: "Add bucket", HeadBranch: "bucket", Head: rev, Base: "main",
		State: "closed", Merged: true, MergeCommit: merge, Author: "alice"}, pr)

	pr, err = f.Pull(t.Context(), 5)
	require.NoError(t, err)
	assert.Equal(t, "closed", pr.State)
	assert.False(t, pr.Merged)

	_, err = f.Pull(t.Context(), 99)
	require.ErrorIs(t, err, reconciler.ErrNotFound)
	assert.Equal(t, reconciler.KindFailed, reconciler.KindOf(err))
}

// A fast-forward merge has no merge commit: the merged commit is the head itself.
func TestPullFastForwardMerge(t *testing.T) {
	srv := gitlabtest.NewServer(t)
	srv.AddMR(reconciler.PullRequest{Number: 6, HeadBranch: "ff", Head: rev})
	srv.MergeMR(6, "")
	pr, err := newForge(t, srv).Pull(t.Context(), 6)
	require.NoError(t, err)
	assert.Equal(t, rev, pr.MergeCommit)
}

func TestErrorKinds(t *testing.T) {
	srv := gitlabtest.NewServer(t)
	f := newForge(t, srv)
	srv.FailNext(1, 502)
	_, err := f.OpenPulls(t.Context(), "main")
	require.Error(t, err)
	assert.Equal(t, reconciler.KindTransient, reconciler.KindOf(err))
	_, err = f.OpenPulls(t.Context(), "main")
	require.NoError(t, err)

	// A wrong token is refused, and is no transient error.
	bad := newForge(t, srv, func(o *gitlab.Options) { o.Token = "glpat-wrong" })
	_, err = bad.OpenPulls(t.Context(), "main")
	require.Error(t, err)
	assert.Equal(t, reconciler.KindFailed, reconciler.KindOf(err))
	assert.Contains(t, err.Error(), "401")
	assert.NotContains(t, err.Error(), "glpat-wrong", "the token is never in an error")
}

func TestNewRejectsIncompleteOptions(t *testing.T) {
	for _, opts := range []gitlab.Options{
		{Project: "", Token: "t"},
		{Project: "infra", Token: "t"},
		{Project: "group/infra"},
	} {
		_, err := gitlab.New(t.Context(), opts)
		assert.Error(t, err, "%+v", opts)
	}
}

// A self-managed GitLab is reached at api_url, with or without "/api/v4".
func TestAPIURLForms(t *testing.T) {
	srv := gitlabtest.NewServer(t)
	for _, url := range []string{srv.URL(), srv.URL() + "/", srv.URL() + "/api/v4", srv.URL() + "/api/v4/"} {
		_, err := newForge(t, srv, func(o *gitlab.Options) { o.APIURL = url }).OpenPulls(t.Context(), "main")
		assert.NoError(t, err, url)
	}
}

func TestCommentLifecycle(t *testing.T) {
	srv := gitlabtest.NewServer(t)
	srv.AddMR(reconciler.PullRequest{Number: 5, HeadBranch: "b", Head: rev})
	ctx := t.Context()
	f := newForge(t, srv)

	require.NoError(t, f.Comment(ctx, report(5, "plan one")))
	notes := srv.Notes(5)
	require.Len(t, notes, 1)
	assert.True(t, strings.HasPrefix(notes[0].Body, forgetext.Marker(5, 1)+"\n### trueup plan for"), notes[0].Body)
	assert.Contains(t, notes[0].Body, "plan one")
	assert.Equal(t, srv.Username, notes[0].Author)

	// The same report changes nothing; a new one edits the same note in place.
	require.NoError(t, f.Comment(ctx, report(5, "plan one")))
	assert.Zero(t, srv.CountRequests("PUT", "/api/v4/projects/P/merge_requests/5/notes/"))
	require.NoError(t, f.Comment(ctx, report(5, "plan two")))
	notes = srv.Notes(5)
	require.Len(t, notes, 1)
	assert.Contains(t, notes[0].Body, "plan two")
	assert.Equal(t, 1, srv.CountRequests("PUT", "/api/v4/projects/P/merge_requests/5/notes/"))

	// A fresh forge (a restart) finds the note by its marker and author and edits it.
	require.NoError(t, newForge(t, srv).Comment(ctx, report(5, "plan three")))
	notes = srv.Notes(5)
	require.Len(t, notes, 1)
	assert.Contains(t, notes[0].Body, "plan three")
}

// Anyone can post a note that starts with trueup's marker: it is never adopted, edited or deleted.
func TestCommentIgnoresOthersNotesWithTheMarker(t *testing.T) {
	srv := gitlabtest.NewServer(t)
	srv.AddMR(reconciler.PullRequest{Number: 6, HeadBranch: "b", Head: rev})
	fake := srv.AddNoteBy(6, "mallory", forgetext.Marker(6, 1)+"\nNo changes. Merge away!")
	require.NoError(t, newForge(t, srv).Comment(t.Context(), report(6, "real plan")))
	notes := srv.Notes(6)
	require.Len(t, notes, 2)
	assert.Equal(t, fake, notes[0].ID)
	assert.Equal(t, forgetext.Marker(6, 1)+"\nNo changes. Merge away!", notes[0].Body)
	assert.Contains(t, notes[1].Body, "real plan")
	assert.Zero(t, srv.CountRequests("PUT", "/api/v4/projects/P/merge_requests/6/notes/"))
	assert.Zero(t, srv.CountRequests("DELETE", "/api/v4/projects/P/merge_requests/6/notes/"))
}

func TestCommentRecreatedWhenDeletedByAPerson(t *testing.T) {
	srv := gitlabtest.NewServer(t)
	srv.AddMR(reconciler.PullRequest{Number: 7, HeadBranch: "b", Head: rev})
	f := newForge(t, srv)
	require.NoError(t, f.Comment(t.Context(), report(7, "one")))
	require.True(t, srv.DeleteNote(srv.Notes(7)[0].ID))
	require.NoError(t, f.Comment(t.Context(), report(7, "two")))
	notes := srv.Notes(7)
	require.Len(t, notes, 1)
	assert.Contains(t, notes[0].Body, "two")
}

// A plan of 1.5 MB does not fit one GitLab note: it takes two, each within the limit and balanced;
// when it shrinks again, the second note goes.
func TestCommentSplitsOnlyPastGitLabsLimit(t *testing.T) {
	srv := gitlabtest.NewServer(t)
	srv.AddMR(reconciler.PullRequest{Number: 8, HeadBranch: "b", Head: rev})
	f := newForge(t, srv)

	require.NoError(t, f.Comment(t.Context(), report(8, bigPlan(200_000))))
	require.Len(t, srv.Notes(8), 1, "200 kB, over GitHub's limit, is one GitLab note")

	require.NoError(t, f.Comment(t.Context(), report(8, bigPlan(1_500_000))))
	notes := srv.Notes(8)
	require.Len(t, notes, 2)
	for k, n := range notes {
		assert.LessOrEqual(t, utf8.RuneCountInString(n.Body), 1_000_000, "part %d", k+1)
		assert.Equal(t, strings.Count(n.Body, "<details"), strings.Count(n.Body, "</details>"), "part %d", k+1)
		assert.Zero(t, strings.Count(n.Body, "\n```\n")%2, "part %d closes its fences", k+1)
	}
	assert.True(t, strings.HasPrefix(notes[1].Body, forgetext.Marker(8, 2)+"\n(continued, part 2 of 2)"), notes[1].Body[:80])

	require.NoError(t, f.Comment(t.Context(), report(8, "small again")))
	require.Len(t, srv.Notes(8), 1)
}

func bigPlan(size int) string {
	var b strings.Builder
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "  # local_file.f[%d] will be created\n  + resource \"local_file\" \"f\" {\n      + content = \"%d\"\n    }\n", i, i)
	}
	return b.String()
}

func TestSetStatus(t *testing.T) {
	srv := gitlabtest.NewServer(t)
	f := newForge(t, srv)
	ctx := t.Context()
	require.NoError(t, f.SetStatus(ctx, rev, "stacks/app", reconciler.StatusPending, "planning"))
	// GitLab refuses to move a status to the state it has: that status is set.
	require.NoError(t, f.SetStatus(ctx, rev, "stacks/app", reconciler.StatusPending, "planning"))
	require.NoError(t, f.SetStatus(ctx, rev, "stacks/app", reconciler.StatusSuccess, "+1 ~0 -0"))
	require.NoError(t, f.SetStatus(ctx, rev, "stacks/db", reconciler.StatusError, strings.Repeat("é", 300)))
	got := srv.Statuses(string(rev))
	require.Len(t, got, 3)
	assert.Equal(t, gitlabtest.Status{State: "running", Name: "trueup/stacks/app", Description: "planning"}, got[0])
	assert.Equal(t, gitlabtest.Status{State: "success", Name: "trueup/stacks/app", Description: "+1 ~0 -0"}, got[1])
	assert.Equal(t, "failed", got[2].State)
	assert.Len(t, []rune(got[2].Description), 255)
}

// Two updates of one status racing make GitLab answer 409: it is sent again.
func TestSetStatusRetriesAConflict(t *testing.T) {
	defer gitlab.SetStatusRetryWait(time.Millisecond)()
	srv := gitlabtest.NewServer(t)
	f := newForge(t, srv)
	srv.FailNext(2, http.StatusConflict)
	require.NoError(t, f.SetStatus(t.Context(), rev, "app", reconciler.StatusFailure, "failed"))
	assert.Equal(t, 3, srv.CountRequests("POST", "/api/v4/projects/P/statuses/"))
	assert.Len(t, srv.Statuses(string(rev)), 1)

	srv.FailNext(4, http.StatusConflict)
	err := f.SetStatus(t.Context(), rev, "app", reconciler.StatusSuccess, "ok")
	require.Error(t, err, "a conflict that never ends is reported")
	assert.Equal(t, reconciler.KindTransient, reconciler.KindOf(err))

	// Any other refusal is not retried.
	before := srv.CountRequests("POST", "/api/v4/projects/P/statuses/")
	srv.FailNext(1, http.StatusForbidden)
	require.Error(t, f.SetStatus(t.Context(), "1111111111111111111111111111111111111111", "app", reconciler.StatusSuccess, "ok"))
	assert.Equal(t, before+1, srv.CountRequests("POST", "/api/v4/projects/P/statuses/"))
}
