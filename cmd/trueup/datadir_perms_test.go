package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
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

	// Directories a branch's code closed: opened to trueup again (and walked).
	file("tfdata/main/stacks~app/tfdata/closed/plan.tfplan", 0o644, 0o600)
	mkdir("tfdata/main/stacks~app/tfdata/closed", 0o000, 0o700)
	mkdir("tfdata/main/stacks~app/tfdata/readonly", 0o500, 0o700)

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

	// A directory of the checkout that its code closed, with a file no one may read.
	file("work/main/stacks~app/closed/unreadable", 0o000, 0o000)
	file("work/main/stacks~app/closed/x.tfstate", 0o644, 0o600)
	mkdir("work/main/stacks~app/closed", 0o000, 0o700)

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

	out := runTighten(dir)
	require.Empty(t, out.Err)
	assert.Empty(t, out.Logs)
	assert.Equal(t, shown(want), modesOf(t, dir, want))

	// The links are links still, pointing where they pointed.
	target, err := os.Readlink(filepath.Join(dir, "work/main/stacks~app/stolen.tfstate"))
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(outside, "secret.txt"), target)

	// Again: nothing to do, nothing changes.
	require.Equal(t, tightenOutcome{}, runTighten(dir))
	assert.Equal(t, shown(want), modesOf(t, dir, want))
}

// The data dir may be a link an operator made (/var/lib/trueup -> /data/trueup): its target is the data dir.
func TestTightenDataDirPermissionsThroughALink(t *testing.T) {
	base := t.TempDir()
	real, outside := filepath.Join(base, "real"), filepath.Join(base, "outside")
	require.NoError(t, os.Mkdir(real, 0o755))
	want := oldDataDir(t, real, outside)
	require.NoError(t, os.Symlink(real, filepath.Join(base, "data")))

	require.Equal(t, tightenOutcome{}, runTighten(filepath.Join(base, "data")))
	assert.Equal(t, shown(want), modesOf(t, real, want))
}

func TestTightenDataDirPermissionsErrors(t *testing.T) {
	err := tightenDataDir(filepath.Join(t.TempDir(), "missing"), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "tighten data dir permissions")
}

// The user the tests run tightenDataDir as, when they run as root: trueup's image runs it as a
// user of its own (10001), to whom root's files are someone else's.
const nobody = 65534

// tightenChildEnv, set, makes the test binary a child of tightenAsUser: the data dir to tighten.
const tightenChildEnv = "TRUEUP_TEST_TIGHTEN_DATA_DIR"

// tightenOutcome is what tightenDataDir returned and logged, as a child of tightenAsUser reports it.
type tightenOutcome struct {
	Err  string `json:"err"`
	Logs string `json:"logs"` // JSON lines
}

// warnings are the Warn records of the outcome's log.
func (o tightenOutcome) warnings(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(o.Logs) {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		if rec["level"] == "WARN" {
			out = append(out, rec)
		}
	}
	return out
}

// warnedPaths are the paths of the outcome's warnings, relative to dir, and whether each was removed.
func (o tightenOutcome) warnedPaths(t *testing.T, dir string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, w := range o.warnings(t) {
		p, ok := w["path"].(string)
		require.True(t, ok, "a warning names its path: %v", w)
		rel, err := filepath.Rel(dir, p)
		require.NoError(t, err)
		_, failed := w["remove_err"]
		out[filepath.ToSlash(rel)] = !failed
	}
	return out
}

// runTighten runs tightenDataDir on dir in this process.
func runTighten(dir string) tightenOutcome {
	var logs bytes.Buffer
	err := tightenDataDir(dir, slog.New(slog.NewJSONHandler(&logs, nil)))
	out := tightenOutcome{Logs: logs.String()}
	if err != nil {
		out.Err = err.Error()
	}
	return out
}

// asTightenChild, in a test binary that tightenAsUser started, runs tightenDataDir on the data dir
// it was given, writes the outcome next to it, and reports true: the test has nothing else to do.
func asTightenChild(t *testing.T) bool {
	dir := os.Getenv(tightenChildEnv)
	if dir == "" {
		return false
	}
	raw, err := json.Marshal(runTighten(dir))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(dir+".outcome.json", raw, 0o600))
	return true
}

// newPermsBase makes a directory for a data dir that the user nobody may enter, removed (whatever
// modes are left in it) when the test ends.
func newPermsBase(t *testing.T) string {
	t.Helper()
	base, err := os.MkdirTemp("", "trueup-perms-")
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				_ = os.Chmod(p, 0o700)
			}
			return nil
		})
		_ = os.RemoveAll(base)
	})
	if os.Geteuid() == 0 {
		require.NoError(t, os.Chown(base, nobody, nobody))
	}
	return base
}

// tightenAsUser runs tightenDataDir on dir, in base (from newPermsBase), as a user other than root,
// to whom modes apply: as this process's user if it is not root; else as nobody, in a copy of the
// test binary that runs this test again with tightenChildEnv set (the test must begin with
// asTightenChild), after giving nobody every path of dir but those in foreign (by path relative to
// dir), which stay root's.
func tightenAsUser(t *testing.T, base, dir string, foreign ...string) tightenOutcome {
	t.Helper()
	if os.Geteuid() != 0 {
		require.Empty(t, foreign, "only root can make paths of another user")
		return runTighten(dir)
	}
	require.NoError(t, filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, nobody, nobody)
	}))
	for _, name := range foreign {
		require.NoError(t, os.Lchown(filepath.Join(dir, name), 0, 0))
	}

	exe, err := os.Executable()
	require.NoError(t, err)
	bin, err := os.ReadFile(exe)
	require.NoError(t, err)
	child := filepath.Join(base, "trueup.test")
	require.NoError(t, os.WriteFile(child, bin, 0o755)) // the go build dir is root's alone

	cmd := exec.Command(child, "-test.run=^"+t.Name()+"$", "-test.count=1")
	cmd.Dir = base
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOCOVERDIR=") && !strings.HasPrefix(kv, tightenChildEnv+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, tightenChildEnv+"="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	output, err := cmd.CombinedOutput()
	require.NoError(t, err, "the test binary as nobody: %s", output)

	info, err := os.Stat(dir + ".outcome.json")
	require.NoError(t, err, "the test binary as nobody: %s", output)
	require.Equal(t, uint32(nobody), info.Sys().(*syscall.Stat_t).Uid, "written by nobody")
	raw, err := os.ReadFile(dir + ".outcome.json")
	require.NoError(t, err)
	var out tightenOutcome
	require.NoError(t, json.Unmarshal(raw, &out))
	return out
}

// permsTree lays out a data dir at dir: directories (names ending in "/") and files, with their
// modes, set once all are made.
func permsTree(t *testing.T, dir string, paths map[string]fs.FileMode) {
	t.Helper()
	require.NoError(t, os.Mkdir(dir, 0o755))
	for name := range paths {
		p := filepath.Join(dir, name)
		if strings.HasSuffix(name, "/") {
			require.NoError(t, os.MkdirAll(p, 0o755))
			continue
		}
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte("content of "+name), 0o644))
	}
	// Deepest first: a closed directory is closed once what is in it is set.
	names := slices.Sorted(maps.Keys(paths))
	slices.Reverse(names)
	for _, name := range names {
		require.NoError(t, os.Chmod(filepath.Join(dir, name), paths[name]))
	}
}

// permsOf returns the permissions of each of names in dir ("gone" for what is not there).
func permsOf(t *testing.T, dir string, names ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, name := range names {
		info, err := os.Lstat(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			out[name] = "gone"
			continue
		}
		require.NoError(t, err)
		out[name] = (info.Mode() & (fs.ModePerm | fs.ModeDir | fs.ModeSetgid | fs.ModeSticky)).String()
	}
	return out
}

// Code of a branch or pull request may close its checkout's and Terraform data dir's directories
// to everyone, trueup's user included: trueup, not root, opens them again before it walks them,
// and starts. So does a directory of trueup's own closed by hand.
func TestTightenDataDirPermissionsClosedDirs(t *testing.T) {
	if asTightenChild(t) {
		return
	}
	base := newPermsBase(t)
	dir := filepath.Join(base, "data")
	permsTree(t, dir, map[string]fs.FileMode{
		"trueup.db":                        0o644,
		"work/":                            0o755,
		"work/x/":                          0o000,
		"work/x/main.tf":                   0o644,
		"work/x/unreadable":                0o000,
		"work/x/deeper/":                   0o000,
		"work/x/deeper/plan.tfplan":        0o644,
		"tfdata/":                          0o755,
		"tfdata/y/":                        0o755,
		"tfdata/y/z/":                      0o000,
		"tfdata/y/z/terraform.tfstate":     0o644,
		"state/":                           0o755,
		"state/s/":                         0o000,
		"state/s/terraform.tfstate":        0o644,
		"state/s/terraform.tfstate.backup": 0o000,
	})

	out := tightenAsUser(t, base, dir)
	assert.Empty(t, out.Err)
	assert.Empty(t, out.warnings(t), "trueup's user can fix all of it: nothing to warn about")
	assert.Equal(t, map[string]string{
		".":                                "drwx------",
		"trueup.db":                        "-rw-------",
		"work/x":                           "drwx------",
		"work/x/main.tf":                   "-rw-r--r--",
		"work/x/unreadable":                "----------",
		"work/x/deeper":                    "drwx------",
		"work/x/deeper/plan.tfplan":        "-rw-------",
		"tfdata/y/z":                       "drwx------",
		"tfdata/y/z/terraform.tfstate":     "-rw-------",
		"state/s":                          "drwx------",
		"state/s/terraform.tfstate":        "-rw-------",
		"state/s/terraform.tfstate.backup": "----------",
	}, permsOf(t, dir, ".", "trueup.db", "work/x", "work/x/main.tf", "work/x/unreadable", "work/x/deeper",
		"work/x/deeper/plan.tfplan", "tfdata/y/z", "tfdata/y/z/terraform.tfstate", "state/s",
		"state/s/terraform.tfstate", "state/s/terraform.tfstate.backup"))
}

// Under work/ and tfdata/, a path trueup's user cannot fix (another user's) does not keep trueup
// from starting: it is removed (its directories opened first), or skipped when it cannot be, and
// named in a warning.
func TestTightenDataDirPermissionsForeignCachePaths(t *testing.T) {
	if asTightenChild(t) {
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("only root can make paths of another user")
	}
	base := newPermsBase(t)
	dir := filepath.Join(base, "data")
	permsTree(t, dir, map[string]fs.FileMode{
		"trueup.db": 0o644,
		// Another user's plan in trueup's directory: removed.
		"tfdata/q/plan.tfplan": 0o644,
		// Another user's open directory, with a closed one of trueup's in it: trueup opens that
		// one to empty it, and removes both.
		"work/r/p/":               0o777,
		"work/r/p/closed/":        0o000,
		"work/r/p/closed/main.tf": 0o644,
		// Another user's directory with another user's file in it: cannot be emptied, skipped
		// (and not walked into).
		"work/s/foreign/":           0o755,
		"work/s/foreign/x.tfstate":  0o644,
		"work/s/mine.tfstate":       0o644,
		"state/a/terraform.tfstate": 0o644,
	})

	out := tightenAsUser(t, base, dir, "tfdata/q/plan.tfplan", "work/r/p", "work/s/foreign", "work/s/foreign/x.tfstate")
	assert.Empty(t, out.Err)
	assert.Equal(t, map[string]bool{"tfdata/q/plan.tfplan": true, "work/r/p": true, "work/s/foreign": false},
		out.warnedPaths(t, dir), "one warning for each, removed or not")
	assert.Equal(t, map[string]string{
		"trueup.db":                 "-rw-------",
		"tfdata/q":                  "drwx------",
		"tfdata/q/plan.tfplan":      "gone",
		"work/r":                    "drwx------",
		"work/r/p":                  "gone",
		"work/s/foreign":            "drwxr-xr-x",
		"work/s/foreign/x.tfstate":  "-rw-r--r--",
		"work/s/mine.tfstate":       "-rw-------",
		"state/a/terraform.tfstate": "-rw-------",
	}, permsOf(t, dir, "trueup.db", "tfdata/q", "tfdata/q/plan.tfplan", "work/r", "work/r/p",
		"work/s/foreign", "work/s/foreign/x.tfstate", "work/s/mine.tfstate", "state/a/terraform.tfstate"))
}

// At most a few cache paths are named, one line each, and a line counts the rest.
func TestTightenDataDirPermissionsManyForeignCachePaths(t *testing.T) {
	if asTightenChild(t) {
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("only root can make paths of another user")
	}
	base := newPermsBase(t)
	dir := filepath.Join(base, "data")
	tree, foreign := map[string]fs.FileMode{}, []string{}
	for i := range 7 {
		name := fmt.Sprintf("tfdata/t/p%d.tfplan", i)
		tree[name] = 0o644
		foreign = append(foreign, name)
	}
	permsTree(t, dir, tree)

	out := tightenAsUser(t, base, dir, foreign...)
	assert.Empty(t, out.Err)
	warnings := out.warnings(t)
	require.Len(t, warnings, maxPermErrors+1)
	assert.Equal(t, filepath.Join(dir, "tfdata/t/p0.tfplan"), warnings[0]["path"])
	assert.Equal(t, float64(2), warnings[maxPermErrors]["more"])
	entries, err := os.ReadDir(filepath.Join(dir, "tfdata/t"))
	require.NoError(t, err)
	assert.Empty(t, entries, "all removed, named or not")
}

// Anywhere else, what trueup's user cannot fix fails it, naming the first few paths; the rest is
// tightened all the same.
func TestTightenDataDirPermissionsForeignPaths(t *testing.T) {
	if asTightenChild(t) {
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("only root can make paths of another user")
	}
	base := newPermsBase(t)
	dir := filepath.Join(base, "data")
	tree := map[string]fs.FileMode{"trueup.db": 0o644, "state/mine/": 0o000, "state/mine/terraform.tfstate": 0o644}
	var foreign []string
	for i := range 6 {
		name := fmt.Sprintf("state/s%d/terraform.tfstate", i)
		tree[name] = 0o644
		foreign = append(foreign, name)
	}
	tree["state/t/"] = 0o000 // another user's closed directory: cannot be opened nor listed
	foreign = append(foreign, "state/t")
	permsTree(t, dir, tree)

	out := tightenAsUser(t, base, dir, foreign...)
	require.NotEmpty(t, out.Err)
	assert.Contains(t, out.Err, "state/s0/terraform.tfstate")
	assert.Contains(t, out.Err, "state/s4/terraform.tfstate")
	assert.NotContains(t, out.Err, "state/s5/terraform.tfstate")
	assert.Contains(t, out.Err, "and 2 more")
	assert.Empty(t, out.warnings(t))
	assert.Equal(t, map[string]string{
		"trueup.db":                    "-rw-------",
		"state/mine":                   "drwx------",
		"state/mine/terraform.tfstate": "-rw-------",
		"state/s0/terraform.tfstate":   "-rw-r--r--",
		"state/t":                      "d---------",
	}, permsOf(t, dir, "trueup.db", "state/mine", "state/mine/terraform.tfstate", "state/s0/terraform.tfstate", "state/t"))
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

// A data dir that is the root of a mounted volume belongs to root, with lost+found (Kubernetes with
// fsGroup): trueup leaves those two as they are, says so, and tightens what it keeps inside.
func TestTightenDataDirPermissionsMountedVolume(t *testing.T) {
	if asTightenChild(t) {
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("only root can make paths of another user")
	}
	base := newPermsBase(t)
	dir := filepath.Join(base, "data")
	permsTree(t, dir, map[string]fs.FileMode{"trueup.db": 0o644, "state/a/": 0o755, "state/a/terraform.tfstate": 0o644, "lost+found/": 0o700})
	require.NoError(t, os.Chmod(dir, 0o2775|fs.ModeSetgid))

	out := tightenAsUser(t, base, dir, ".", "lost+found")
	require.Empty(t, out.Err, "a volume's root is no reason to stop")
	assert.Equal(t, map[string]bool{".": true, "lost+found": true}, out.warnedPaths(t, dir))
	assert.Equal(t, map[string]string{
		"trueup.db":                 "-rw-------",
		"state/a":                   "drwx------",
		"state/a/terraform.tfstate": "-rw-------",
		"lost+found":                "drwx------",
	}, permsOf(t, dir, "trueup.db", "state/a", "state/a/terraform.tfstate", "lost+found"))
}
