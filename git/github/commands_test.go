package github_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/git/github/githubtest"
	"github.com/trueup/trueup/reconciler"
)

// A command is read from the API with its author; trueup's own comments are never commands, and a
// comment of another pull request is not this one's.
func TestPullComment(t *testing.T) {
	srv := githubtest.NewServer(t)
	f := newForge(t, srv)
	id := srv.AddCommentBy(3, "octocat", "trueup approve")
	c, err := f.PullComment(t.Context(), 3, id)
	require.NoError(t, err)
	assert.Equal(t, reconciler.PullComment{ID: id, Author: reconciler.Commenter{Login: "octocat"}, Body: "trueup approve"}, c)

	// An answer is trueup's own comment with the marker; anyone else's copy of it is not.
	srv.AddCommentBy(3, "mallory", "<!-- trueup:reply comment=77 -->\nfake")
	answered, err := f.Answered(t.Context(), 3, "<!-- trueup:reply comment=77 -->")
	require.NoError(t, err)
	assert.False(t, answered, "a forged answer does not silence a command")

	_, err = f.PullComment(t.Context(), 4, id)
	assert.ErrorIs(t, err, reconciler.ErrNotFound)
	_, err = f.PullComment(t.Context(), 3, 424242)
	assert.ErrorIs(t, err, reconciler.ErrNotFound)

	require.NoError(t, f.Reply(t.Context(), 3, "<!-- trueup:reply comment=77 -->\nreal"))
	answered, err = f.Answered(t.Context(), 3, "<!-- trueup:reply comment=77 -->")
	require.NoError(t, err)
	assert.True(t, answered)
	cs := srv.Comments(3)
	require.Len(t, cs, 3)
	own, err := f.PullComment(t.Context(), 3, cs[2].ID)
	require.NoError(t, err)
	assert.True(t, own.Own)
}

// Write, maintain and admin may command; triage, read and strangers may not.
func TestCanWrite(t *testing.T) {
	srv := githubtest.NewServer(t)
	f := newForge(t, srv)
	for login, perm := range map[string]string{"w": "write", "m": "maintain", "a": "admin", "t": "triage", "r": "read", "x": ""} {
		srv.SetPermission(login, perm)
		ok, err := f.CanWrite(t.Context(), reconciler.Commenter{Login: login})
		require.NoError(t, err, login)
		assert.Equal(t, perm == "write" || perm == "maintain" || perm == "admin", ok, perm)
	}
	srv.FailNext(1, 502)
	_, err := f.CanWrite(t.Context(), reconciler.Commenter{Login: "w"})
	assert.Error(t, err, "an unknown permission is an error, never a yes")
}
