package git

import (
	"context"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/git/gittest"
)

// looseRefFiles lists the loose ref files of the mirror in dir.
func looseRefFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	require.NoError(t, filepath.WalkDir(filepath.Join(dir, "refs"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	}))
	return files
}

// A mirror following many pull requests packs its refs, so a poll reads one file rather than one
// per ref; refs that move or go afterwards still do, and a reopened mirror sees the same heads.
func TestPollPacksManyRefs(t *testing.T) {
	ctx := context.Background()
	remote := gittest.NewRemote(t)
	main1 := remote.CommitAndPush("first", map[string]string{"main.tf": "a"})
	remote.Branch("feature")
	feature := remote.Commit("feature work")
	remote.Push("feature")
	const pulls = maxLooseRefs + 10
	for n := 1; n <= pulls; n++ {
		remote.SetPullRef(n, feature)
	}
	m := openMirror(t, remote)
	dir := m.opts.Dir
	heads, err := m.Poll(ctx)
	require.NoError(t, err)
	assert.Len(t, heads.Pulls, pulls)
	assert.Equal(t, main1, heads.Branches["main"])
	assert.Empty(t, looseRefFiles(t, dir), "every ref is packed")
	assert.NoDirExists(t, filepath.Join(dir, "refs", "pull", "1"), "the empty directories go")
	assert.FileExists(t, filepath.Join(dir, "packed-refs"))

	remote.Checkout("main")
	main2 := remote.CommitAndPush("second", map[string]string{"main.tf": "b"})
	remote.SetPullRef(3, main2)
	remote.DeletePullRef(5)
	heads, err = m.Poll(ctx)
	require.NoError(t, err)
	assert.Equal(t, main2, heads.Branches["main"])
	assert.Equal(t, feature, heads.Branches["feature"])
	assert.Equal(t, main2, heads.Pulls[3], "a packed ref that moved")
	assert.NotContains(t, heads.Pulls, 5, "a packed ref that went is pruned")
	assert.Len(t, heads.Pulls, pulls-1)
	assert.Len(t, looseRefFiles(t, dir), 2, "a poll that changes a few refs leaves them loose")

	require.NoError(t, m.Close())
	again, err := Open(ctx, Options{URL: remote.URL(), Dir: dir, Branch: "main"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = again.Close() })
	reopened, err := again.Poll(ctx)
	require.NoError(t, err)
	assert.Equal(t, heads, reopened)
}
