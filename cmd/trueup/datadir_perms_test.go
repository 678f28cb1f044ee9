package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// oldDataDir lays out dir as an older trueup left it (0755 directories, 0644 files), with what a
// branch's checkout may plant: links out of the data dir named like state, plans and directories.
// It returns the modes tightenDataDir must leave, by path relative to dir (or absolute, outside it).
func oldDataDir(t *testing.T, dir, outside string) map[string]fs.FileMode {
	t.Helper()
	want := map[string]fs.FileMode{}
	mkdir := func(name string, mode, after fs.FileMode) {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(p, 0o755))
		require.NoError(t, os.Chmod(p, mode))
		want[name] = after
	}
	file := func(name string, mode, after fs.FileMode) {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte("content of "+name), 0o600))
		require.NoError(t, os.Chmod(p, mode))
		want[name] = after
	}
	link := func(name, target string) {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.Symlink(target, p))
	}

	require.NoError(t, os.Chmod(dir, 0o755))
	want["."] = 0o700
	file("trueup.db", 0o644, 0o600)
	file("trueup.lock", 0o640, 0o640)
	file("layout.version", 0o644, 0o644)

	// Local state, with its backup and lock info.
	mkdir("state", 0o755, 0o700)
	mkdir("state/stacks~app", 0o755, 0o700)
	file("state/stacks~app/terraform.tfstate", 0o644, 0o600)
	file("state/stacks~app/terraform.tfstate.backup", 0o664, 0o600)
	file("state/stacks~app/.terraform.tfstate.lock.info", 0o644, 0o600)
	file("state/stacks~db/terraform.tfstate", 0o755, 0o600)
	file("state/stacks~db/readonly.tfstate", 0o444, 0o400) // narrowed, never widened
	mkdir("state/stacks~db", fs.ModeSetgid|0o775, 0o700)   // setgid goes too

	// A Terraform data dir: the plan, the backend config (terraform.tfstate) and a provider binary,
	// which must stay executable.
	file("tfdata/main/stacks~app/plan.tfplan", 0o644, 0o600)
	file("tfdata/main/stacks~app/fingerprint", 0o644, 0o644)
	file("tfdata/main/stacks~app/tfdata/terraform.tfstate", 0o644, 0o600)
	provider := "tfdata/main/stacks~app/tfdata/providers/registry.terraform.io/hashicorp/local/2.5.1/linux_amd64/terraform-provider-local_v2.5.1"
	file(provider, 0o755, 0o755)
	mkdir("tfdata/main/stacks~app/tfdata/providers", 0o755, 0o700)

	// A checkout: files keep their modes; links are left alone, whatever their names.
	file("work/main/stacks~app/main.tf", 0o644, 0o644)
	file("work/main/stacks~app/scripts/run.sh", 0o755, 0o755)
	file("work/main/stacks~app/committed.tfstate", 0o644, 0o600)
	link("work/main/stacks~app/stolen.tfstate", filepath.Join(outside, "secret.txt"))
	link("work/main/stacks~app/plan.tfplan", filepath.Join(outside, "secret.txt"))
	link("work/main/stacks~app/outdir", filepath.Join(outside, "dir"))
	link("work/main/stacks~app/dangling.tfplan", filepath.Join(outside, "nothing-here"))
	link("work/main/stacks~app/inside.tfstate", "../../../trueup.lock")
	link("state/leak", filepath.Join(outside, "secret.txt"))
	link("state/leakdir", filepath.Join(outside, "dir"))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "work/main/stacks~app/pipe.tfstate"), 0o644))
	want["work/main/stacks~app/pipe.tfstate"] = fs.ModeNamedPipe | 0o644

	// The mirror: directories close, objects keep their modes, the config may hold a remote's URL.
	file("mirror.git/config", 0o644, 0o600)
	file("mirror.git/HEAD", 0o644, 0o644)
	file("mirror.git/objects/ab/cdef0123456789", 0o444, 0o444)
	file("mirror.git/objects/pack/pack-1.pack", 0o444, 0o444)
	mkdir("mirror.git/objects/ab", 0o755, 0o700)
	mkdir("plugin-cache", 0o755, 0o700)
	for _, d := range []string{"tfdata", "tfdata/main", "tfdata/main/stacks~app", "work", "work/main", "work/main/stacks~app",
		"work/main/stacks~app/scripts", "mirror.git", "mirror.git/objects", "mirror.git/objects/pack"} {
		require.NoError(t, os.Chmod(filepath.Join(dir, d), 0o755))
		want[d] = 0o700
	}

	// Outside the data dir: nothing may change.
	require.NoError(t, os.MkdirAll(filepath.Join(outside, "dir"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("not trueup's"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(outside, "dir", "x.tfstate"), []byte("not trueup's"), 0o644))
	for p, mode := range map[string]fs.FileMode{
		outside: fs.ModeDir | 0o755, filepath.Join(outside, "dir"): fs.ModeDir | 0o755,
		filepath.Join(outside, "secret.txt"): 0o644, filepath.Join(outside, "dir", "x.tfstate"): 0o644,
	} {
		require.NoError(t, os.Chmod(p, mode.Perm()))
		want[p] = mode
	}
	return want
}

// modesOf returns the mode of every path of want, as ls shows it, by path: of dir's entries relative
// to dir, not following links.
func modesOf(t *testing.T, dir string, want map[string]fs.FileMode) map[string]string {
	t.Helper()
	got := map[string]string{}
	for name, w := range want {
		p := name
		if !filepath.IsAbs(name) {
			p = filepath.Join(dir, name)
		}
		info, err := os.Lstat(p)
		require.NoError(t, err)
		m := info.Mode() & (fs.ModePerm | fs.ModeSetgid | fs.ModeSetuid | fs.ModeSticky | fs.ModeNamedPipe | fs.ModeDir)
		if w&fs.ModeDir == 0 {
			m &^= fs.ModeDir
		}
		got[name] = m.String()
	}
	return got
}

// shown is want as modesOf shows modes.
func shown(want map[string]fs.FileMode) map[string]string {
	out := map[string]string{}
	for name, m := range want {
		out[name] = m.String()
	}
	return out
}

func TestTightenDataDirPermissions(t *testing.T) {
	base := t.TempDir()
	dir, outside := filepath.Join(base, "data"), filepath.Join(base, "outside")
	require.NoError(t, os.Mkdir(dir, 0o755))
	want := oldDataDir(t, dir, outside)

	require.NoError(t, tightenDataDir(dir))
	assert.Equal(t, shown(want), modesOf(t, dir, want))

	// The links are links still, pointing where they pointed.
	target, err := os.Readlink(filepath.Join(dir, "work/main/stacks~app/stolen.tfstate"))
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(outside, "secret.txt"), target)

	// Again: nothing to do, nothing changes.
	require.NoError(t, tightenDataDir(dir))
	assert.Equal(t, shown(want), modesOf(t, dir, want))
}

// The data dir may be a link an operator made (/var/lib/trueup -> /data/trueup): its target is the data dir.
func TestTightenDataDirPermissionsThroughALink(t *testing.T) {
	base := t.TempDir()
	real, outside := filepath.Join(base, "real"), filepath.Join(base, "outside")
	require.NoError(t, os.Mkdir(real, 0o755))
	want := oldDataDir(t, real, outside)
	require.NoError(t, os.Symlink(real, filepath.Join(base, "data")))

	require.NoError(t, tightenDataDir(filepath.Join(base, "data")))
	assert.Equal(t, shown(want), modesOf(t, real, want))
}

func TestTightenDataDirPermissionsErrors(t *testing.T) {
	err := tightenDataDir(filepath.Join(t.TempDir(), "missing"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "tighten data dir permissions")

	if os.Geteuid() == 0 {
		t.Skip("root may change and read anything: no path fails")
	}
	dir := t.TempDir()
	for i := range 7 {
		locked := filepath.Join(dir, fmt.Sprintf("locked%d", i))
		require.NoError(t, os.MkdirAll(filepath.Join(locked, "inner"), 0o755))
		require.NoError(t, os.Chmod(locked, 0o300)) // cannot be listed
		t.Cleanup(func() { os.Chmod(locked, 0o700) })
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "trueup.db"), nil, 0o644))
	err = tightenDataDir(dir)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "locked0")
	assert.Contains(t, err.Error(), "and 2 more")
	info, statErr := os.Stat(filepath.Join(dir, "trueup.db"))
	require.NoError(t, statErr)
	assert.Equal(t, fs.FileMode(0o600), info.Mode().Perm(), "the rest is tightened all the same")
}

func TestIsDataSecret(t *testing.T) {
	for name, want := range map[string]bool{
		"trueup.db": true, "work/x/trueup.db": false, "trueup.db.bak": false,
		"state/a/terraform.tfstate": true, "state/a/anything": true, "state": false, "statefile": false,
		"tfdata/b/s/plan.tfplan": true, "x.tfplan.txt": false, "a/terraform.tfstate.backup": true, "a/b.tfstate.old": false,
		"mirror.git/config": true, "mirror.git/HEAD": false, "work/b/s/mirror.git/config": false,
	} {
		assert.Equal(t, want, isDataSecret(name), name)
	}
}
