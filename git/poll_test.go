package git

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/git/gittest"
	"github.com/trueup/trueup/reconciler"
)

func TestPollFetchesOnceThenNothing(t *testing.T) {
	ctx := context.Background()
	remote := gittest.NewRemote(t)
	main1 := remote.CommitAndPush("first", map[string]string{"main.tf": "a"})
	remote.Branch("feature")
	feature := remote.Commit("feature work")
	remote.Push("feature")
	remote.SetPullRef(7, feature)
	remote.DeletePullRef(7)
	remote.SetPullRef(8, feature)

	m := openMirror(t, remote)
	assert.Equal(t, reconciler.Revision(""), m.Head("main"), "nothing before the first poll")

	heads, err := m.Poll(ctx)
	require.NoError(t, err)
	want := reconciler.Heads{
		Branches: map[string]reconciler.Revision{"main": main1, "feature": feature},
		Pulls:    map[int]reconciler.Revision{8: feature},
	}
	assert.Equal(t, want, heads)
	assert.Equal(t, 1, fetchCount(m))
	assert.Equal(t, main1, m.Head("main"))

	heads, err = m.Poll(ctx)
	require.NoError(t, err)
	assert.Equal(t, want, heads)
	assert.Equal(t, 1, fetchCount(m), "a poll with nothing new fetches nothing")
}

// A GitLab remote keeps merge request heads as refs/merge-requests/N/head (forks' too): with
// PullRefsGitLab the mirror follows those, and not refs/pull/N/head.
func TestPollFollowsGitLabMergeRequestRefs(t *testing.T) {
	remote := gittest.NewRemote(t)
	main1 := remote.CommitAndPush("first", map[string]string{"main.tf": "a"})
	remote.Branch("feature")
	feature := remote.Commit("feature work")
	remote.SetMergeRequestRef(4, feature)
	remote.SetPullRef(9, feature)

	m, err := Open(t.Context(), Options{URL: remote.URL(), Dir: filepath.Join(t.TempDir(), "mirror.git"), PullRefs: PullRefsGitLab})
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	heads, err := m.Poll(t.Context())
	require.NoError(t, err)
	assert.Equal(t, reconciler.Heads{
		Branches: map[string]reconciler.Revision{"main": main1},
		Pulls:    map[int]reconciler.Revision{4: feature},
	}, heads)
	tree, err := m.Tree(t.Context(), feature)
	require.NoError(t, err, "the merge request's head was fetched")
	_, err = fs.Stat(tree, "main.tf")
	require.NoError(t, err)

	_, err = Open(t.Context(), Options{URL: remote.URL(), Dir: t.TempDir(), PullRefs: "refs/changes"})
	assert.Error(t, err, "an unknown pull request namespace")
}

func TestPollFetchesNewCommit(t *testing.T) {
	ctx := context.Background()
	remote := gittest.NewRemote(t)
	remote.CommitAndPush("first", map[string]string{"main.tf": "a"})
	m := polled(t, remote)

	second := remote.CommitAndPush("second", map[string]string{"main.tf": "b"})
	heads, err := m.Poll(ctx)
	require.NoError(t, err)
	assert.Equal(t, second, heads.Branches["main"])
	assert.Equal(t, 2, fetchCount(m))

	fsys, err := m.Tree(ctx, second)
	require.NoError(t, err)
	data, err := fs.ReadFile(fsys, "main.tf")
	require.NoError(t, err)
	assert.Equal(t, "b", string(data))
}

func TestPollRefsMovingToKnownCommitsNeedNoFetch(t *testing.T) {
	ctx := context.Background()
	remote := gittest.NewRemote(t)
	first := remote.CommitAndPush("first", map[string]string{"main.tf": "a"})
	second := remote.CommitAndPush("second", map[string]string{"main.tf": "b"})
	remote.Branch("feature")
	remote.Push("feature")
	m := polled(t, remote)
	require.Equal(t, 1, fetchCount(m))

	// GitHub opens a pull request on a pushed branch, main is force-pushed back, a branch is deleted.
	remote.SetPullRef(3, second)
	remote.Git("push", "--quiet", "--force", "origin", string(first)+":refs/heads/main")
	remote.DeleteBranch("feature")

	heads, err := m.Poll(ctx)
	require.NoError(t, err)
	assert.Equal(t, reconciler.Heads{
		Branches: map[string]reconciler.Revision{"main": first},
		Pulls:    map[int]reconciler.Revision{3: second},
	}, heads)
	assert.Equal(t, 1, fetchCount(m), "every ref names a commit the mirror has")
	assert.Equal(t, reconciler.Revision(""), m.Head("feature"), "a branch gone from the remote is pruned")

	remote.DeletePullRef(3)
	heads, err = m.Poll(ctx)
	require.NoError(t, err)
	assert.Empty(t, heads.Pulls)
}

func TestPollPrunesAfterFetch(t *testing.T) {
	ctx := context.Background()
	remote := gittest.NewRemote(t)
	remote.CommitAndPush("first", map[string]string{"main.tf": "a"})
	remote.Branch("old")
	remote.Push("old")
	m := polled(t, remote)

	remote.DeleteBranch("old")
	third := remote.CommitAndPush("third", map[string]string{"main.tf": "c"})
	heads, err := m.Poll(ctx)
	require.NoError(t, err)
	assert.Equal(t, map[string]reconciler.Revision{"main": third}, heads.Branches)
	assert.Equal(t, 2, fetchCount(m))
}

func TestPollEmptyRemote(t *testing.T) {
	remote := gittest.NewRemote(t)
	m := openMirror(t, remote)
	heads, err := m.Poll(context.Background())
	require.NoError(t, err)
	assert.Empty(t, heads.Branches)
	assert.Empty(t, heads.Pulls)
}

func TestPollUnreachableRemoteIsTransient(t *testing.T) {
	for name, url := range map[string]string{
		"missing path":    filepath.Join(t.TempDir(), "nope.git"),
		"refused https":   "https://127.0.0.1:1/org/repo.git",
		"refused file://": "file://" + filepath.Join(t.TempDir(), "nope.git"),
	} {
		t.Run(name, func(t *testing.T) {
			m, err := Open(context.Background(), Options{URL: url, Dir: filepath.Join(t.TempDir(), "mirror.git"), Token: "secret-token"})
			require.NoError(t, err)
			defer m.Close()
			_, err = m.Poll(context.Background())
			require.Error(t, err)
			assert.Equal(t, reconciler.KindTransient, reconciler.KindOf(err), "%v", err)
			assert.NotContains(t, err.Error(), "secret-token")
		})
	}
}

func TestPollKeepsPreviousHeadsWhenRemoteGoes(t *testing.T) {
	ctx := context.Background()
	remote := gittest.NewRemote(t)
	first := remote.CommitAndPush("first", map[string]string{"main.tf": "a"})
	m := polled(t, remote)

	require.NoError(t, os.Rename(remote.URL(), remote.URL()+".away"))
	_, err := m.Poll(ctx)
	require.Error(t, err)
	assert.Equal(t, reconciler.KindTransient, reconciler.KindOf(err))
	assert.Equal(t, first, m.Head("main"))
	_, err = m.Tree(ctx, first)
	assert.NoError(t, err)

	require.NoError(t, os.Rename(remote.URL()+".away", remote.URL()))
	heads, err := m.Poll(ctx)
	require.NoError(t, err)
	assert.Equal(t, first, heads.Branches["main"])
}

func TestPollCanceledContext(t *testing.T) {
	remote := gittest.NewRemote(t)
	remote.CommitAndPush("first", map[string]string{"main.tf": "a"})
	m := openMirror(t, remote)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := m.Poll(ctx)
	require.Error(t, err)
	assert.Equal(t, reconciler.KindCanceled, reconciler.KindOf(err))
}

func TestOpenReusesExistingMirror(t *testing.T) {
	ctx := context.Background()
	remote := gittest.NewRemote(t)
	first := remote.CommitAndPush("first", map[string]string{"main.tf": "a"})
	dir := filepath.Join(t.TempDir(), "mirror.git")

	m, err := Open(ctx, Options{URL: remote.URL(), Dir: dir})
	require.NoError(t, err)
	_, err = m.Poll(ctx)
	require.NoError(t, err)
	require.NoError(t, m.Close())

	m, err = Open(ctx, Options{URL: remote.URL(), Dir: dir})
	require.NoError(t, err)
	defer m.Close()
	assert.Equal(t, first, m.Head("main"), "the mirror's refs survive a restart")
	_, err = m.Poll(ctx)
	require.NoError(t, err)
	assert.Equal(t, 0, fetchCount(m), "a reopened, up-to-date mirror fetches nothing")
}

func TestAuth(t *testing.T) {
	ctx := context.Background()
	calls := 0
	tokenFunc := func(context.Context) (string, error) { calls++; return "fresh", nil }
	failing := func(context.Context) (string, error) { return "", errors.New("no token") }
	for _, tc := range []struct {
		name    string
		opts    Options
		want    any
		wantErr bool
	}{
		{"https token", Options{URL: "https://github.com/o/r.git", Token: "t"}, &http.BasicAuth{Username: "x-access-token", Password: "t"}, false},
		{"token func wins", Options{URL: "https://github.com/o/r.git", Token: "t", TokenFunc: tokenFunc}, &http.BasicAuth{Username: "x-access-token", Password: "fresh"}, false},
		{"gitlab's user name", Options{URL: "https://gitlab.example.com/g/r.git", Token: "t", Username: "oauth2"}, &http.BasicAuth{Username: "oauth2", Password: "t"}, false},
		{"no token", Options{URL: "https://github.com/o/r.git"}, nil, false},
		{"local path ignores token", Options{URL: "/srv/repo.git", Token: "t"}, nil, false},
		{"explicit auth", Options{URL: "ssh://git@host/r.git", Auth: &http.BasicAuth{Username: "u"}}, &http.BasicAuth{Username: "u"}, false},
		{"token func fails", Options{URL: "https://github.com/o/r.git", TokenFunc: failing}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &Mirror{opts: tc.opts}
			got, err := m.auth(ctx)
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			if tc.want == nil {
				assert.Nil(t, got)
			} else {
				assert.Equal(t, tc.want, got)
			}
		})
	}
	assert.Equal(t, 1, calls)
}
