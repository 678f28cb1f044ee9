package git

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/git/gittest"
	"github.com/trueup/trueup/reconciler"
)

// repackTools runs a test once with each way of repacking: the git CLI and go-git.
func repackTools(t *testing.T, test func(t *testing.T, gitPath string)) {
	t.Run("git", func(t *testing.T) {
		gitPath, err := exec.LookPath("git")
		if err != nil {
			t.Skip("no git on PATH")
		}
		test(t, gitPath)
	})
	t.Run("go-git", func(t *testing.T) { test(t, "") })
}

// repackingMirror opens a mirror of remote that repacks beyond repackAbove packs with gitPath
// ("" for go-git), logging into the returned buffer.
func repackingMirror(t *testing.T, remote *gittest.Remote, repackAbove int, gitPath string) (*Mirror, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer // written under m.mu during Poll, read by the test between calls
	m, err := Open(context.Background(), Options{
		URL: remote.URL(), Dir: filepath.Join(t.TempDir(), "mirror.git"),
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	m.repackAbove, m.gitPath = repackAbove, gitPath
	return m, &logs
}

func packCount(t *testing.T, m *Mirror) int {
	t.Helper()
	n, err := countPacks(m.opts.Dir)
	require.NoError(t, err)
	return n
}

func repackCount(m *Mirror) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.repacks
}

// deletedFilesOpen lists the files under dir that this process holds open although they were deleted.
func deletedFilesOpen(t *testing.T, dir string) []string {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Logf("cannot list open files: %v", err)
		return nil
	}
	var open []string
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasPrefix(target, dir) && strings.HasSuffix(target, " (deleted)") {
			open = append(open, target)
		}
	}
	return open
}

func readTreeFile(t *testing.T, fsys fs.FS, name string) string {
	t.Helper()
	data, err := fs.ReadFile(fsys, name)
	require.NoError(t, err)
	return string(data)
}

func TestPollRepacksWhenPacksPileUp(t *testing.T) {
	repackTools(t, func(t *testing.T, gitPath string) {
		ctx := context.Background()
		remote := gittest.NewRemote(t)
		first := remote.CommitAndPush("first", map[string]string{"a/main.tf": "a", "b/main.tf": "0", "link.tf": "symlink:a/main.tf"})
		m, logs := repackingMirror(t, remote, 3, gitPath)
		_, err := m.Poll(ctx)
		require.NoError(t, err)
		firstTree, err := m.Tree(ctx, first)
		require.NoError(t, err)

		revs := []reconciler.Revision{first}
		for i := 1; i <= 6; i++ {
			rev := remote.CommitAndPush(fmt.Sprint("commit ", i), map[string]string{
				"b/main.tf": fmt.Sprint(i), fmt.Sprintf("c/%d.tf", i): "new",
			})
			revs = append(revs, rev)
			heads, err := m.Poll(ctx)
			require.NoError(t, err)
			assert.Equal(t, rev, heads.Branches["main"])
			assert.LessOrEqual(t, packCount(t, m), 3, "after poll %d", i)
			// Read every revision so far: the storage opens their packs before the next repack.
			for j, r := range revs {
				fsys, err := m.Tree(ctx, r)
				require.NoError(t, err)
				assert.Equal(t, fmt.Sprint(j), readTreeFile(t, fsys, "b/main.tf"))
			}
		}
		assert.Equal(t, 7, fetchCount(m))
		assert.Equal(t, 2, repackCount(m), "7 packs with at most 3 kept: two repacks")
		assert.Contains(t, logs.String(), "repacked mirror")
		want := "with=git"
		if gitPath == "" {
			want = "with=go-git"
		}
		assert.Contains(t, logs.String(), want)
		assert.NotContains(t, logs.String(), "level=WARN")
		assert.Empty(t, deletedFilesOpen(t, m.opts.Dir), "the replaced storage's pack files are closed")

		// Old and new revisions read through every method; a Tree taken before the repacks too.
		last := revs[len(revs)-1]
		assert.Equal(t, "0", readTreeFile(t, firstTree, "b/main.tf"))
		for j, r := range revs {
			fsys, err := m.Tree(ctx, r)
			require.NoError(t, err)
			assert.Equal(t, fmt.Sprint(j), readTreeFile(t, fsys, "b/main.tf"))
			target, err := fs.ReadLink(fsys, "link.tf")
			require.NoError(t, err)
			assert.Equal(t, "a/main.tf", target)
		}
		changed, err := m.Changed(ctx, first, last)
		require.NoError(t, err)
		assert.Equal(t, []string{"b/main.tf", "c/1.tf", "c/2.tf", "c/3.tf", "c/4.tf", "c/5.tf", "c/6.tf"}, changed)
		changed, err = m.Changed(ctx, revs[3], revs[4])
		require.NoError(t, err)
		assert.Equal(t, []string{"b/main.tf", "c/4.tf"}, changed)
		base, err := m.MergeBase(ctx, first, last)
		require.NoError(t, err)
		assert.Equal(t, first, base)

		dir := t.TempDir()
		for _, step := range []struct {
			rev   reconciler.Revision
			b     string
			hasC6 bool
		}{{first, "0", false}, {last, "6", true}, {revs[2], "2", false}} {
			require.NoError(t, m.Checkout(ctx, step.rev, dir))
			data, err := os.ReadFile(filepath.Join(dir, "b", "main.tf"))
			require.NoError(t, err)
			assert.Equal(t, step.b, string(data), "checkout %s", step.rev.Short())
			_, err = os.Stat(filepath.Join(dir, "c", "6.tf"))
			assert.Equal(t, step.hasC6, err == nil, "checkout %s: c/6.tf", step.rev.Short())
		}

		heads, err := m.Poll(ctx)
		require.NoError(t, err)
		assert.Equal(t, last, heads.Branches["main"])
		assert.Equal(t, 7, fetchCount(m), "a poll with nothing new fetches nothing after repacking")
		assert.Equal(t, 2, repackCount(m))
	})
}

func TestRepackKeepsUnreachableCommits(t *testing.T) {
	repackTools(t, func(t *testing.T, gitPath string) {
		ctx := context.Background()
		remote := gittest.NewRemote(t)
		first := remote.CommitAndPush("first", map[string]string{"main.tf": "a"})
		m, _ := repackingMirror(t, remote, 2, gitPath)
		_, err := m.Poll(ctx)
		require.NoError(t, err)
		remote.Branch("gone")
		remote.WriteFiles(map[string]string{"main.tf": "gone"})
		gone := remote.Commit("on a branch deleted later")
		remote.Push("gone")
		_, err = m.Poll(ctx)
		require.NoError(t, err)
		require.Equal(t, gone, m.Head("gone"))

		// The branch goes; its commit is now reachable from no ref of the mirror.
		remote.DeleteBranch("gone")
		remote.CommitAndPush("second", map[string]string{"main.tf": "b"})
		_, err = m.Poll(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, repackCount(m))
		require.Equal(t, 1, packCount(t, m))

		fsys, err := m.Tree(ctx, gone)
		require.NoError(t, err, "a commit fetched once stays readable")
		assert.Equal(t, "gone", readTreeFile(t, fsys, "main.tf"))
		changed, err := m.Changed(ctx, gone, m.Head("main"))
		require.NoError(t, err)
		assert.Equal(t, []string{"main.tf"}, changed)
		base, err := m.MergeBase(ctx, gone, m.Head("main"))
		require.NoError(t, err)
		assert.Equal(t, first, base)
	})
}

// failingGit writes a stand-in for git that fails as git does in a directory owned by another user.
func failingGit(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "git")
	require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\necho 'fatal: detected dubious ownership' >&2\nexit 128\n"), 0o755))
	return p
}

func TestRepackFallsBackToGoGitWhenGitFails(t *testing.T) {
	ctx := context.Background()
	remote := gittest.NewRemote(t)
	remote.CommitAndPush("first", map[string]string{"main.tf": "a"})
	m, logs := repackingMirror(t, remote, 1, failingGit(t))
	_, err := m.Poll(ctx)
	require.NoError(t, err)

	second := remote.CommitAndPush("second", map[string]string{"main.tf": "b"})
	heads, err := m.Poll(ctx)
	require.NoError(t, err)
	assert.Equal(t, second, heads.Branches["main"])
	assert.Equal(t, 1, packCount(t, m))
	assert.Contains(t, logs.String(), "git repack failed; repacking with go-git")
	assert.Contains(t, logs.String(), "dubious ownership")
	assert.Contains(t, logs.String(), "with=go-git")
	fsys, err := m.Tree(ctx, second)
	require.NoError(t, err)
	assert.Equal(t, "b", readTreeFile(t, fsys, "main.tf"))
}

func TestFailedRepackDoesNotFailThePoll(t *testing.T) {
	for name, gitPath := range map[string]func(t *testing.T) string{
		"git and go-git fail": failingGit,
		"go-git fails":        func(*testing.T) string { return "" },
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			remote := gittest.NewRemote(t)
			first := remote.CommitAndPush("first", map[string]string{"main.tf": "a"})
			m, logs := repackingMirror(t, remote, 1, gitPath(t))
			_, err := m.Poll(ctx)
			require.NoError(t, err)
			// A corrupt loose object: nothing refers to it, but go-git's repack of every object reads it.
			corrupt := filepath.Join(m.opts.Dir, "objects", "ab", strings.Repeat("c", 38))
			require.NoError(t, os.MkdirAll(filepath.Dir(corrupt), 0o755))
			require.NoError(t, os.WriteFile(corrupt, []byte("not a zlib stream"), 0o444))

			second := remote.CommitAndPush("second", map[string]string{"main.tf": "b"})
			heads, err := m.Poll(ctx)
			require.NoError(t, err, "a failing repack never fails the poll")
			assert.Equal(t, second, heads.Branches["main"])
			assert.Equal(t, 1, repackCount(m))
			assert.Equal(t, 2, packCount(t, m), "nothing was repacked")
			assert.Contains(t, logs.String(), "repack mirror failed")
			assert.NotContains(t, logs.String(), "repacked mirror")
			for rev, want := range map[reconciler.Revision]string{first: "a", second: "b"} {
				fsys, err := m.Tree(ctx, rev)
				require.NoError(t, err)
				assert.Equal(t, want, readTreeFile(t, fsys, "main.tf"))
			}
		})
	}
}
