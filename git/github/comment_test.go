package github_test

import (
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

	"github.com/trueup/trueup/git/forgetext"
	"github.com/trueup/trueup/git/github"
	"github.com/trueup/trueup/git/github/githubtest"
	"github.com/trueup/trueup/reconciler"
)

// byAuthor returns the comments on pull request n written by login.
func byAuthor(srv *githubtest.Server, n int, login string) []githubtest.Comment {
	var out []githubtest.Comment
	for _, c := range srv.Comments(n) {
		if c.Author == login {
			out = append(out, c)
		}
	}
	return out
}

// touched counts the edits and deletions of comment id.
func touched(srv *githubtest.Server, id int64) int {
	path := fmt.Sprintf("/repos/acme/infra/issues/comments/%d", id)
	return srv.CountRequests("PATCH", path) + srv.CountRequests("DELETE", path)
}

func TestCommentIgnoresOthersCommentsWithTheMarker(t *testing.T) {
	srv := githubtest.NewServer(t)
	ctx := t.Context()
	const n = 30
	// Someone posts comments that look like trueup's: a fake plan as part 1, and a part 3 that
	// trueup's own comment never needs.
	fake1 := srv.AddCommentBy(n, "mallory", forgetext.Marker(n, 1)+"\n### trueup plan for `01234567`\n\nNo changes. Merge away!")
	fake3 := srv.AddCommentBy(n, "mallory", forgetext.Marker(n, 3)+"\n(continued, part 3 of 3)\n\nsee https://evil.example")
	before := srv.Comments(n)

	f := newForge(t, srv)
	require.NoError(t, f.Comment(ctx, report(n, "plan one")))
	own := byAuthor(srv, n, srv.Login)
	require.Len(t, own, 1, "trueup posts its own comment")
	assert.True(t, strings.HasPrefix(own[0].Body, forgetext.Marker(n, 1)+"\n"), own[0].Body)
	assert.Contains(t, own[0].Body, "plan one")

	// Two parts, then one again after a restart (part 2 is deleted): the other comments stay as they were.
	big := strings.Repeat("  + resource \"local_file\" \"f\" { content = \"0123456789\" }\n", 1300)
	require.NoError(t, f.Comment(ctx, report(n, big)))
	require.Len(t, byAuthor(srv, n, srv.Login), 2)
	require.NoError(t, newForge(t, srv).Comment(ctx, report(n, "plan two")))
	own = byAuthor(srv, n, srv.Login)
	require.Len(t, own, 1)
	assert.Contains(t, own[0].Body, "plan two")

	assert.Equal(t, before, byAuthor(srv, n, "mallory"), "someone else's comments are left exactly as they were")
	assert.Zero(t, touched(srv, fake1), "never edited or deleted")
	assert.Zero(t, touched(srv, fake3), "never edited or deleted")
	assert.Equal(t, 2, srv.CountRequests("GET", "/user"), "the login is looked up once per forge")
}

func TestCommentLoginIsCaseInsensitiveAndConfigurable(t *testing.T) {
	srv := githubtest.NewServer(t)
	// A comment from an earlier run, by a login that differs only in case, is adopted.
	id := srv.AddCommentBy(31, "TrueUp-Bot", forgetext.Marker(31, 1)+"\nold")
	require.NoError(t, newForge(t, srv).Comment(t.Context(), report(31, "new")))
	cs := srv.Comments(31)
	require.Len(t, cs, 1)
	assert.Equal(t, id, cs[0].ID)
	assert.Contains(t, cs[0].Body, "new")

	// A configured login is used as it is: no lookup, and comments by the token's user are someone else's.
	srv = githubtest.NewServer(t)
	theirs := srv.AddCommentBy(32, srv.Login, forgetext.Marker(32, 1)+"\nby the token's user")
	mine := srv.AddCommentBy(32, "github-actions[bot]", forgetext.Marker(32, 1)+"\nby the configured login")
	f := newForge(t, srv, func(o *github.Options) { o.Login = "github-actions[bot]" })
	require.NoError(t, f.Comment(t.Context(), report(32, "edited")))
	cs = srv.Comments(32)
	require.Len(t, cs, 2)
	assert.Equal(t, theirs, cs[0].ID)
	assert.Equal(t, "<!-- trueup:plan pr=32 part=1 -->\nby the token's user", cs[0].Body)
	assert.Equal(t, mine, cs[1].ID)
	assert.Contains(t, cs[1].Body, "edited")
	assert.Zero(t, srv.CountRequests("GET", "/user"))
}

func TestCommentWithoutALoginTouchesNothing(t *testing.T) {
	srv := githubtest.NewServer(t)
	id := srv.AddCommentBy(33, srv.Login, forgetext.Marker(33, 1)+"\nold")
	f := newForge(t, srv)

	// GitHub is down: the lookup fails, nothing is posted, edited or deleted, and the error is transient.
	srv.FailNext(1, 502)
	err := f.Comment(t.Context(), report(33, "new"))
	require.Error(t, err)
	assert.Equal(t, reconciler.KindTransient, reconciler.KindOf(err))
	assert.Contains(t, err.Error(), "GET /user")
	assert.Equal(t, "<!-- trueup:plan pr=33 part=1 -->\nold", srv.Comments(33)[0].Body)
	assert.Zero(t, srv.CountRequests("GET", "/repos/acme/infra/issues/33/comments"))
	assert.Zero(t, srv.CountRequests("POST", "/repos/"))

	// A token that cannot read /user (an installation token, as Actions' GITHUB_TOKEN is) needs a human.
	g := newForge(t, srv, func(o *github.Options) { o.Token = srv.Token })
	err = g.Comment(t.Context(), report(33, "new"))
	require.Error(t, err)
	assert.Equal(t, reconciler.KindFailed, reconciler.KindOf(err))
	assert.Zero(t, srv.CountRequests("POST", "/repos/"))

	// The failure is not remembered: the next call looks up again and edits trueup's comment.
	require.NoError(t, f.Comment(t.Context(), report(33, "new")))
	cs := srv.Comments(33)
	require.Len(t, cs, 1)
	assert.Equal(t, id, cs[0].ID)
	assert.Contains(t, cs[0].Body, "new")
}

func TestAppCommentsAsItsBot(t *testing.T) {
	srv := githubtest.NewServer(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	keyFile := filepath.Join(t.TempDir(), "app.pem")
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600))
	newApp := func() *github.Forge {
		return newForge(t, srv, func(o *github.Options) { o.Token, o.AppID, o.InstallationID, o.PrivateKeyFile = "", 42, 77, keyFile })
	}

	// The oldest comment with the marker is someone else's; the App's own comes after it.
	fake := srv.AddComment(34, forgetext.Marker(34, 1)+"\nfake")
	require.NoError(t, newApp().Comment(t.Context(), report(34, "one")))
	own := byAuthor(srv, 34, "trueup[bot]")
	require.Len(t, own, 1)
	// After a restart, the App finds its own comment by its bot's login.
	f := newApp()
	require.NoError(t, f.Comment(t.Context(), report(34, "two")))
	require.NoError(t, f.Comment(t.Context(), reconciler.PullReport{Number: 35, Head: rev}))

	cs := srv.Comments(34)
	require.Len(t, cs, 2)
	assert.Equal(t, githubtest.Comment{ID: fake, Number: 34, Body: forgetext.Marker(34, 1) + "\nfake", Author: githubtest.Someone}, cs[0])
	assert.Equal(t, own[0].ID, cs[1].ID)
	assert.Contains(t, cs[1].Body, "two")
	assert.Zero(t, touched(srv, fake))
	assert.Equal(t, 2, srv.CountRequests("GET", "/app"), "once per forge")
	assert.Zero(t, srv.CountRequests("GET", "/user"))
}

// hugeReport has six plans of about 350 kB each: more than MaxCommentParts comments' worth.
func hugeReport(n int) reconciler.PullReport {
	r := reconciler.PullReport{Number: n, Head: rev}
	for i := range 6 {
		var b strings.Builder
		for j := 0; b.Len() < 350_000; j++ {
			fmt.Fprintf(&b, "  + resource \"local_file\" \"f%d\" { content = \"stack %d, file %d\" }\n", j, i, j)
		}
		r.Stacks = append(r.Stacks, reconciler.StackReport{
			Stack: fmt.Sprintf("big-%d", i), Revision: rev, Result: reconciler.ResultSucceeded, Add: 5000, Rendered: b.String(),
		})
	}
	return r
}

func TestCommentCapDeletesPartsBeyondTheLast(t *testing.T) {
	srv := githubtest.NewServer(t)
	const n = 36
	// An earlier, uncapped trueup posted 12 parts; someone else posted a part 11 of their own.
	var ids []int64
	for k := 1; k <= 12; k++ {
		ids = append(ids, srv.AddCommentBy(n, srv.Login, forgetext.Marker(n, k)+"\nold part"))
	}
	fake := srv.AddComment(n, forgetext.Marker(n, 11)+"\nnot trueup's")

	require.NoError(t, newForge(t, srv).Comment(t.Context(), hugeReport(n)))
	own := byAuthor(srv, n, srv.Login)
	require.Len(t, own, forgetext.MaxCommentParts)
	for k, c := range own {
		assert.Equal(t, ids[k], c.ID, "part %d is edited in place", k+1)
		assert.True(t, strings.HasPrefix(c.Body, forgetext.Marker(n, k+1)+"\n"), "part %d", k+1)
		assert.LessOrEqual(t, len([]rune(c.Body)), 65536, "part %d", k+1)
	}
	assert.Contains(t, own[forgetext.MaxCommentParts-1].Body, "`trueup status --pull 36`")
	assert.Equal(t, 2, srv.CountRequests("DELETE", "/repos/acme/infra/issues/comments/"), "parts 11 and 12 are deleted")
	assert.Zero(t, srv.CountRequests("POST", "/repos/"))
	others := byAuthor(srv, n, githubtest.Someone)
	require.Len(t, others, 1)
	assert.Equal(t, fake, others[0].ID)
}
