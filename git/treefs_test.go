package git

import (
	"context"
	"io"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/git/gittest"
	"github.com/trueup/trueup/reconciler"
)

// treeFixture is a commit with files, directories, an executable and symbolic links of every kind.
// With badLinks, it also has links that lead out of the tree, nowhere, or in a circle.
func treeFixture(t *testing.T, badLinks bool) (*Mirror, reconciler.Revision) {
	t.Helper()
	remote := gittest.NewRemote(t)
	remote.WriteFiles(map[string]string{
		"README.md":                 "# infra\n",
		"stacks/a/main.tf":          "module \"s\" { source = \"../../modules/shared\" }\n",
		"stacks/a/shared.tf":        "symlink:../../modules/shared/outputs.tf",
		"stacks/b/modules":          "symlink:../../modules",
		"modules/shared/main.tf":    "resource \"terraform_data\" \"x\" {}\n",
		"modules/shared/outputs.tf": "output \"x\" { value = 1 }\n",
		"scripts/plan.sh":           "#!/bin/sh\necho plan\n",
	})
	if badLinks {
		remote.WriteFiles(map[string]string{
			"escape":   "symlink:../outside",
			"absolute": "symlink:/etc/passwd",
			"loop":     "symlink:loop",
			"dangling": "symlink:nowhere.tf",
		})
	}
	remote.Chmod("scripts/plan.sh", 0o755)
	rev := remote.Commit("fixture")
	remote.Push("main")
	return polled(t, remote), rev
}

func TestTreeIsAValidFS(t *testing.T) {
	m, rev := treeFixture(t, false)
	fsys, err := m.Tree(context.Background(), rev)
	require.NoError(t, err)
	// fstest walks with ReadDir and does not follow links; it checks Open, Stat, ReadFile, ReadDir
	// and, through fs.ReadLinkFS, Lstat and ReadLink agree with each other.
	require.NoError(t, fstest.TestFS(fsys, "README.md", "stacks/a/main.tf", "modules/shared/main.tf", "scripts/plan.sh"))
}

func TestTreeReads(t *testing.T) {
	m, rev := treeFixture(t, true)
	fsys, err := m.Tree(context.Background(), rev)
	require.NoError(t, err)

	data, err := fs.ReadFile(fsys, "stacks/a/main.tf")
	require.NoError(t, err)
	assert.Equal(t, "module \"s\" { source = \"../../modules/shared\" }\n", string(data))

	entries, err := fs.ReadDir(fsys, "stacks/a")
	require.NoError(t, err)
	require.Len(t, entries, 2)
	assert.Equal(t, "main.tf", entries[0].Name())
	assert.Equal(t, fs.FileMode(0), entries[0].Type())
	assert.Equal(t, "shared.tf", entries[1].Name())
	assert.Equal(t, fs.ModeSymlink, entries[1].Type())

	info, err := fs.Stat(fsys, "scripts/plan.sh")
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o755), info.Mode())
	assert.Equal(t, int64(len("#!/bin/sh\necho plan\n")), info.Size())

	info, err = fs.Stat(fsys, "stacks")
	require.NoError(t, err)
	assert.True(t, info.IsDir())

	f, err := fsys.Open("modules/shared/outputs.tf")
	require.NoError(t, err)
	data, err = io.ReadAll(f)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	assert.Equal(t, "output \"x\" { value = 1 }\n", string(data))

	_, err = fs.ReadFile(fsys, "stacks/c/main.tf")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	_, err = fs.ReadFile(fsys, "README.md/x")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	_, err = fs.ReadFile(fsys, "../x")
	assert.ErrorIs(t, err, fs.ErrInvalid)
	_, err = fs.ReadFile(fsys, "stacks")
	assert.Error(t, err)
}

func TestTreeSymlinks(t *testing.T) {
	m, rev := treeFixture(t, true)
	fsys, err := m.Tree(context.Background(), rev)
	require.NoError(t, err)

	info, err := fs.Lstat(fsys, "stacks/a/shared.tf")
	require.NoError(t, err)
	assert.Equal(t, fs.ModeSymlink, info.Mode().Type())
	assert.Equal(t, "shared.tf", info.Name())
	target, err := fs.ReadLink(fsys, "stacks/a/shared.tf")
	require.NoError(t, err)
	assert.Equal(t, "../../modules/shared/outputs.tf", target)

	// Open, Stat and ReadFile follow links that stay inside the tree.
	data, err := fs.ReadFile(fsys, "stacks/a/shared.tf")
	require.NoError(t, err)
	assert.Equal(t, "output \"x\" { value = 1 }\n", string(data))
	info, err = fs.Stat(fsys, "stacks/a/shared.tf")
	require.NoError(t, err)
	assert.True(t, info.Mode().IsRegular())
	assert.Equal(t, "shared.tf", info.Name())

	// A link to a directory works in the middle of a path too; Lstat follows it there.
	entries, err := fs.ReadDir(fsys, "stacks/b/modules/shared")
	require.NoError(t, err)
	assert.Len(t, entries, 2)
	info, err = fs.Lstat(fsys, "stacks/b/modules/shared/outputs.tf")
	require.NoError(t, err)
	assert.True(t, info.Mode().IsRegular())
	info, err = fs.Lstat(fsys, "stacks/b/modules")
	require.NoError(t, err)
	assert.Equal(t, fs.ModeSymlink, info.Mode().Type())

	for _, name := range []string{"escape", "absolute", "loop", "dangling"} {
		t.Run(name, func(t *testing.T) {
			info, err := fs.Lstat(fsys, name)
			require.NoError(t, err)
			assert.Equal(t, fs.ModeSymlink, info.Mode().Type())
			_, err = fs.ReadFile(fsys, name)
			assert.Error(t, err, "a link leading out of the tree, nowhere or in circles cannot be read through")
		})
	}
	_, err = fs.ReadLink(fsys, "README.md")
	assert.ErrorIs(t, err, fs.ErrInvalid)
}

func TestTreeUnknownRevision(t *testing.T) {
	m, _ := treeFixture(t, true)
	_, err := m.Tree(context.Background(), "0000000000000000000000000000000000000001")
	assert.ErrorIs(t, err, reconciler.ErrNotFound)
}

// Two commits with the same files have one tree hash, so the reconciler reads their layout once;
// a change gives another.
func TestTreeHashNamesTheTree(t *testing.T) {
	remote := gittest.NewRemote(t)
	remote.WriteFiles(map[string]string{"stacks/a/main.tf": "# a\n"})
	first := remote.Commit("first")
	remote.Git("commit", "--allow-empty", "-q", "-m", "same tree")
	same := reconciler.Revision(remote.Git("rev-parse", "HEAD"))
	remote.WriteFiles(map[string]string{"stacks/a/main.tf": "# b\n"})
	other := remote.Commit("other")
	remote.Push("main")
	m := polled(t, remote)
	hash := func(rev reconciler.Revision) string {
		fsys, err := m.Tree(context.Background(), rev)
		require.NoError(t, err)
		return fsys.(interface{ TreeHash() string }).TreeHash()
	}
	assert.Equal(t, hash(first), hash(same))
	assert.NotEqual(t, hash(first), hash(other))

	dirHash := func(rev reconciler.Revision, dir string) (string, bool) {
		fsys, err := m.Tree(context.Background(), rev)
		require.NoError(t, err)
		return fsys.(interface{ DirHash(string) (string, bool) }).DirHash(dir)
	}
	a1, ok := dirHash(first, "stacks/a")
	require.True(t, ok)
	a2, _ := dirHash(other, "stacks/a")
	assert.NotEqual(t, a1, a2, "a changed file changes its directory's hash")
	s1, _ := dirHash(first, "stacks")
	assert.NotEqual(t, s1, a1)
	_, ok = dirHash(first, "stacks/a/main.tf")
	assert.False(t, ok, "a file is not a directory")
}

func TestDirHashIsUnknownForDirectoriesWithLinks(t *testing.T) {
	m, rev := treeFixture(t, false)
	fsys, err := m.Tree(context.Background(), rev)
	require.NoError(t, err)
	h := fsys.(interface{ DirHash(string) (string, bool) })
	_, ok := h.DirHash("stacks/a") // holds shared.tf, a link into modules/
	assert.False(t, ok)
	_, ok = h.DirHash("modules/shared")
	assert.True(t, ok)
}
