package git

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/git/gittest"
)

func readFile(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	require.NoError(t, err)
	return string(data)
}

func stat(t *testing.T, name string) os.FileInfo {
	t.Helper()
	info, err := os.Lstat(name)
	require.NoError(t, err)
	return info
}

func TestCheckoutWritesTrackedFiles(t *testing.T) {
	ctx := context.Background()
	remote := gittest.NewRemote(t)
	remote.WriteFiles(map[string]string{
		"stacks/a/main.tf":    "a",
		"stacks/a/shared.tf":  "symlink:../../modules/shared/x.tf",
		"modules/shared/x.tf": "x",
		"run.sh":              "#!/bin/sh\n",
	})
	remote.Chmod("run.sh", 0o755)
	rev := remote.Commit("first")
	remote.Push("main")
	m := polled(t, remote)
	dir := filepath.Join(t.TempDir(), "work")

	require.NoError(t, m.Checkout(ctx, rev, dir))
	assert.Equal(t, "a", readFile(t, filepath.Join(dir, "stacks/a/main.tf")))
	assert.Equal(t, "x", readFile(t, filepath.Join(dir, "stacks/a/shared.tf")), "the link resolves")
	target, err := os.Readlink(filepath.Join(dir, "stacks/a/shared.tf"))
	require.NoError(t, err)
	assert.Equal(t, "../../modules/shared/x.tf", target)
	assert.NotZero(t, stat(t, filepath.Join(dir, "run.sh")).Mode()&0o100, "executable")
	assert.Zero(t, stat(t, filepath.Join(dir, "stacks/a/main.tf")).Mode()&0o111, "not executable")

	var mf manifest
	require.NoError(t, json.Unmarshal([]byte(readFile(t, filepath.Join(dir, manifestName))), &mf))
	assert.Equal(t, rev, mf.Revision)
	assert.Len(t, mf.Files, 4)

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	assert.Equal(t, []string{manifestName, "modules", "run.sh", "stacks"}, names, "no temporary files left")
}

func TestCheckoutUpdatesIncrementally(t *testing.T) {
	ctx := context.Background()
	remote := gittest.NewRemote(t)
	first := remote.CommitAndPush("first", map[string]string{
		"stacks/a/main.tf":    "a",
		"stacks/b/main.tf":    "b",
		"stacks/gone/main.tf": "gone",
		"stacks/kept/main.tf": "kept",
		"modules/shared/x.tf": "x",
		"link.tf":             "symlink:stacks/a/main.tf",
		"becomes-dir":         "file",
	})
	remote.Remove("stacks/gone", "stacks/kept/main.tf", "becomes-dir")
	second := remote.CommitAndPush("second", map[string]string{
		"stacks/a/main.tf":     "a2",
		"stacks/c/main.tf":     "c",
		"link.tf":              "symlink:stacks/b/main.tf",
		"becomes-dir/inner.tf": "inner",
	})
	m := polled(t, remote)
	dir := t.TempDir()
	require.NoError(t, m.Checkout(ctx, first, dir))

	// What Terraform leaves behind, and a file of someone else's in a directory that loses its files.
	untracked := map[string]string{
		"stacks/a/terraform.tfstate":         "{}",
		"stacks/a/.terraform/modules/m.json": "{}",
		"stacks/a/plan.tfplan":               "plan",
		"stacks/a/.terraform.lock.hcl":       "lock",
		"stacks/kept/terraform.tfstate":      "{}",
	}
	for name, content := range untracked {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	unchangedBefore := stat(t, filepath.Join(dir, "stacks/b/main.tf"))
	sharedBefore := stat(t, filepath.Join(dir, "modules/shared/x.tf"))

	require.NoError(t, m.Checkout(ctx, second, dir))

	assert.Equal(t, "a2", readFile(t, filepath.Join(dir, "stacks/a/main.tf")))
	assert.Equal(t, "c", readFile(t, filepath.Join(dir, "stacks/c/main.tf")))
	assert.Equal(t, "inner", readFile(t, filepath.Join(dir, "becomes-dir/inner.tf")))
	target, err := os.Readlink(filepath.Join(dir, "link.tf"))
	require.NoError(t, err)
	assert.Equal(t, "stacks/b/main.tf", target)
	// Unchanged files are the very same files: not rewritten (a rewrite renames a new inode in).
	assert.True(t, os.SameFile(unchangedBefore, stat(t, filepath.Join(dir, "stacks/b/main.tf"))))
	assert.True(t, os.SameFile(sharedBefore, stat(t, filepath.Join(dir, "modules/shared/x.tf"))))
	// Removed tracked files go, with the directory they leave empty; a directory with someone else's file stays.
	assert.NoFileExists(t, filepath.Join(dir, "stacks/gone/main.tf"))
	assert.NoDirExists(t, filepath.Join(dir, "stacks/gone"))
	assert.NoFileExists(t, filepath.Join(dir, "stacks/kept/main.tf"))
	for name, content := range untracked {
		assert.Equal(t, content, readFile(t, filepath.Join(dir, name)), name)
	}

	// Back to the first revision: everything is as it was, untracked files still there.
	require.NoError(t, m.Checkout(ctx, first, dir))
	assert.Equal(t, "a", readFile(t, filepath.Join(dir, "stacks/a/main.tf")))
	assert.Equal(t, "file", readFile(t, filepath.Join(dir, "becomes-dir")))
	assert.NoDirExists(t, filepath.Join(dir, "stacks/c"))
	assert.Equal(t, "{}", readFile(t, filepath.Join(dir, "stacks/a/terraform.tfstate")))
}

func TestCheckoutSameRevisionWritesNothing(t *testing.T) {
	ctx := context.Background()
	remote := gittest.NewRemote(t)
	rev := remote.CommitAndPush("first", map[string]string{"main.tf": "a", "b/c.tf": "c"})
	m := polled(t, remote)
	dir := t.TempDir()
	require.NoError(t, m.Checkout(ctx, rev, dir))
	before := stat(t, filepath.Join(dir, manifestName))
	file := stat(t, filepath.Join(dir, "b/c.tf"))

	require.NoError(t, m.Checkout(ctx, rev, dir))
	assert.True(t, os.SameFile(before, stat(t, filepath.Join(dir, manifestName))), "manifest untouched")
	assert.True(t, os.SameFile(file, stat(t, filepath.Join(dir, "b/c.tf"))))
}

func TestCheckoutRepairsEditedAndMissingFiles(t *testing.T) {
	ctx := context.Background()
	remote := gittest.NewRemote(t)
	rev := remote.CommitAndPush("first", map[string]string{"main.tf": "original", "other.tf": "other"})
	m := polled(t, remote)
	dir := t.TempDir()
	require.NoError(t, m.Checkout(ctx, rev, dir))

	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.tf"), []byte("edited by hand"), 0o644))
	require.NoError(t, os.Remove(filepath.Join(dir, "other.tf")))
	require.NoError(t, m.Checkout(ctx, rev, dir))
	assert.Equal(t, "original", readFile(t, filepath.Join(dir, "main.tf")))
	assert.Equal(t, "other", readFile(t, filepath.Join(dir, "other.tf")))
}

func TestCheckoutCompletesAnInterruptedOne(t *testing.T) {
	ctx := context.Background()
	remote := gittest.NewRemote(t)
	first := remote.CommitAndPush("first", map[string]string{"main.tf": "a"})
	m := polled(t, remote)
	dir := t.TempDir()
	require.NoError(t, m.Checkout(ctx, first, dir))

	// A crash after the pending manifest was written: main.tf and new.tf are in flight, new.tf
	// half-written, and the next revision to check out no longer has new.tf.
	root, err := os.OpenRoot(dir)
	require.NoError(t, err)
	defer root.Close()
	mf := readManifest(root)
	mf.Files["main.tf"] = manifestEntry{}
	mf.Files["new.tf"] = manifestEntry{}
	require.NoError(t, writeManifest(root, mf))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "new.tf"), []byte("half"), 0o644))

	require.NoError(t, m.Checkout(ctx, first, dir))
	assert.Equal(t, "a", readFile(t, filepath.Join(dir, "main.tf")))
	assert.NoFileExists(t, filepath.Join(dir, "new.tf"))
}

func TestSafePath(t *testing.T) {
	for p, want := range map[string]bool{
		"main.tf":            true,
		"stacks/a/main.tf":   true,
		"a..b/c":             true,
		".github/workflows":  true,
		"":                   false,
		"../x":               false,
		"a/../../x":          false,
		"./a":                false,
		"/etc/passwd":        false,
		"a//b":               false,
		".git/config":        false,
		"sub/.GIT/hooks/pre": false,
		"a\x00b":             false,
	} {
		assert.Equal(t, want, safePath(p), "%q", p)
	}
}

func TestCheckoutUnknownRevision(t *testing.T) {
	remote := gittest.NewRemote(t)
	remote.CommitAndPush("first", map[string]string{"main.tf": "a"})
	m := polled(t, remote)
	err := m.Checkout(context.Background(), "0123456789abcdef0123456789abcdef01234567", t.TempDir())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "checkout 01234567")
}

func TestCheckoutLeavesOutSkippedDirectories(t *testing.T) {
	ctx := context.Background()
	remote := gittest.NewRemote(t)
	rev := remote.CommitAndPush("first", map[string]string{
		"stacks/a/main.tf":     "a",
		"stacks/b/main.tf":     "b",
		"stacks/b/sub/data.tf": "data",
		"stacks/bb/main.tf":    "bb",
		"modules/shared/x.tf":  "x",
	})
	m := polled(t, remote)
	dir := t.TempDir()
	require.NoError(t, m.Checkout(ctx, rev, dir))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "stacks/b/terraform.tfstate"), []byte("{}"), 0o644))

	require.NoError(t, m.Checkout(ctx, rev, dir, "stacks/b/"))
	assert.Equal(t, "a", readFile(t, filepath.Join(dir, "stacks/a/main.tf")))
	assert.Equal(t, "bb", readFile(t, filepath.Join(dir, "stacks/bb/main.tf")), "a skip names a directory, not a prefix")
	assert.Equal(t, "x", readFile(t, filepath.Join(dir, "modules/shared/x.tf")))
	assert.NoFileExists(t, filepath.Join(dir, "stacks/b/main.tf"), "a skipped directory's files written before are removed")
	assert.NoDirExists(t, filepath.Join(dir, "stacks/b/sub"))
	assert.Equal(t, "{}", readFile(t, filepath.Join(dir, "stacks/b/terraform.tfstate")), "files Checkout did not write stay")

	fresh := t.TempDir()
	require.NoError(t, m.Checkout(ctx, rev, fresh, "stacks/a", "modules/shared"))
	assert.NoDirExists(t, filepath.Join(fresh, "stacks/a"))
	assert.NoDirExists(t, filepath.Join(fresh, "modules"))
	assert.Equal(t, "data", readFile(t, filepath.Join(fresh, "stacks/b/sub/data.tf")))

	require.NoError(t, m.Checkout(ctx, rev, fresh))
	assert.Equal(t, "a", readFile(t, filepath.Join(fresh, "stacks/a/main.tf")), "a directory no longer skipped is written")
}
