package gitlab_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/git/gitlab/gitlabtest"
	"github.com/trueup/trueup/reconciler"
)

// A command is read from the API, with its author; trueup's own notes are never commands.
func TestPullComment(t *testing.T) {
	srv := gitlabtest.NewServer(t)
	srv.AddMR(reconciler.PullRequest{Number: 2, HeadBranch: "b", Head: rev})
	bobID := srv.AddUser("bob", gitlabtest.Developer)
	id := srv.AddNoteBy(2, "bob", "trueup plan")
	f := newForge(t, srv)

	c, err := f.PullComment(t.Context(), 2, id)
	require.NoError(t, err)
	assert.Equal(t, reconciler.PullComment{ID: id, Author: reconciler.Commenter{Login: "bob", ID: bobID}, Body: "trueup plan"}, c)

	require.NoError(t, f.Reply(t.Context(), 2, "done"))
	notes := srv.Notes(2)
	require.Len(t, notes, 2)
	own, err := f.PullComment(t.Context(), 2, notes[1].ID)
	require.NoError(t, err)
	assert.True(t, own.Own)

	// An answer is trueup's own note with the marker; anyone else's copy of it is not.
	srv.AddNoteBy(2, "mallory", "<!-- trueup:reply comment=77 -->\nfake")
	answered, err := f.Answered(t.Context(), 2, "<!-- trueup:reply comment=77 -->")
	require.NoError(t, err)
	assert.False(t, answered, "a forged answer does not silence a command")
	require.NoError(t, f.Reply(t.Context(), 2, "<!-- trueup:reply comment=77 -->\nreal"))
	answered, err = f.Answered(t.Context(), 2, "<!-- trueup:reply comment=77 -->")
	require.NoError(t, err)
	assert.True(t, answered)

	_, err = f.PullComment(t.Context(), 2, 99999)
	assert.ErrorIs(t, err, reconciler.ErrNotFound)
	_, err = f.PullComment(t.Context(), 3, id)
	assert.ErrorIs(t, err, reconciler.ErrNotFound, "a note of another merge request")
}

// Developer access or above may command; Reporters, non-members and unknown users may not.
func TestCanWrite(t *testing.T) {
	srv := gitlabtest.NewServer(t)
	f := newForge(t, srv)
	for name, level := range map[string]int{"dev": gitlabtest.Developer, "maint": gitlabtest.Maintainer, "rep": gitlabtest.Reporter, "none": 0} {
		id := srv.AddUser(name, level)
		ok, err := f.CanWrite(t.Context(), reconciler.Commenter{Login: name, ID: id})
		require.NoError(t, err, name)
		assert.Equal(t, level >= gitlabtest.Developer, ok, name)
	}
	ok, err := f.CanWrite(t.Context(), reconciler.Commenter{Login: "ghost"})
	require.NoError(t, err)
	assert.False(t, ok, "no user id, no access")

	srv.FailNext(1, 503)
	_, err = f.CanWrite(t.Context(), reconciler.Commenter{Login: "dev", ID: 1})
	require.Error(t, err, "an unknown permission is an error, not a yes")
	assert.Equal(t, reconciler.KindTransient, reconciler.KindOf(err))
}
