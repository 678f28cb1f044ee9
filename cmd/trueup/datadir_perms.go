package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// Modes of the data dir: only trueup's own user may enter it or read what it keeps.
const (
	dataDirMode    fs.FileMode = 0o700
	dataSecretMode fs.FileMode = 0o600
)

// maxPermErrors is how many failed paths tightenDataDir names in its error, and how many cache
// paths it names in warnings.
const maxPermErrors = 5

// tightenDataDir takes group and other permissions off what trueup keeps in dataDir, which older
// versions of trueup created with 0755 directories and 0644 files: the data dir and every
// directory in it become exactly 0700, each before it is listed (so a directory a branch's code
// made 0000 is opened again to trueup and then walked); the store (trueup.db), state (*.tfstate,
// *.tfstate.backup, every file under state/), plan files (*.tfplan) and the mirror's git config
// 0600 at most. File modes are only ever narrowed, and other files keep theirs (the checkouts,
// providers, git objects — unreadable to others once their directories are 0700).
//
// Symbolic links are neither followed nor changed: a checkout of a branch may hold any link, say
// "x.tfstate -> /home/trueup/.ssh/id_ed25519" or "state -> /etc". Every change goes through an
// os.Root, so even a path swapped for a link while the walk runs cannot reach outside dataDir.
// dataDir itself may be a link (an operator's choice). Run it before anything else uses dataDir.
//
// What branch and pull request code runs with write access to is under work/ and tfdata/: caches
// of checkouts and Terraform data dirs, which trueup recreates. A path under them that still cannot
// be fixed (say, one owned by another user) is removed, with what it holds (its directories opened
// to trueup first), or else skipped and left as it is; either way it is logged as a warning on log
// (the first few such paths, one line each), never an error, so that no branch can keep trueup
// from starting. Any other path it cannot change or list fails it, naming the first few such paths,
// except the data dir itself and its lost+found when another user owns them: the root of a mounted
// volume (Kubernetes gives it to root, with fsGroup for trueup), logged as a warning and left alone.
func tightenDataDir(dataDir string, log *slog.Logger) error {
	if log == nil {
		log = slog.Default()
	}
	root, err := os.OpenRoot(dataDir)
	if err != nil {
		return fmt.Errorf("tighten data dir permissions: %w", err)
	}
	defer root.Close()
	t := &tightener{root: root}
	t.walk(".", fs.ModeDir)

	for _, w := range t.warnings {
		p := filepath.Join(dataDir, filepath.FromSlash(w.name))
		if w.removeErr == nil {
			log.Warn("data dir: removed a cache path whose permissions cannot be fixed; trueup recreates it", "path", p, "err", w.err)
		} else {
			log.Warn("data dir: cannot fix the permissions of a cache path nor remove it; skipped (fix its owner or remove it)",
				"path", p, "err", w.err, "remove_err", w.removeErr)
		}
	}
	for _, name := range t.foreignRoots {
		log.Warn("data dir: left as it is, owned by another user (a mounted volume?); what trueup keeps in it is tightened",
			"path", filepath.Join(dataDir, filepath.FromSlash(name)))
	}
	if t.warned > maxPermErrors {
		log.Warn("data dir: more cache paths whose permissions cannot be fixed", "more", t.warned-maxPermErrors)
	}

	if t.failed == 0 {
		return nil
	}
	errs := t.errs
	if t.failed > maxPermErrors {
		errs = append(errs, fmt.Errorf("and %d more", t.failed-maxPermErrors))
	}
	return fmt.Errorf("tighten permissions in data dir %s (fix the owner or the mode of these paths): %w", dataDir, errors.Join(errs...))
}

// tightener is one run of tightenDataDir.
type tightener struct {
	root *os.Root

	errs   []error // the first maxPermErrors fatal errors
	failed int     // how many paths failed

	warnings []permWarning // the first maxPermErrors cache paths that could not be fixed
	warned   int           // how many cache paths could not be fixed

	foreignRoots []string // the data dir, or its lost+found, owned by another user (a mounted volume)
}

// volumeRoot reports whether name is what a mounted volume brings with it and trueup never made:
// the data dir itself or its lost+found, owned by another user (Kubernetes gives a volume's root to
// root, and fsGroup lets trueup write in it). Their modes are not trueup's to fix.
func (t *tightener) volumeRoot(name string) bool {
	if name != "." && name != "lost+found" {
		return false
	}
	info, err := t.root.Lstat(name)
	if err != nil {
		return false
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) != os.Geteuid()
}

// permWarning is a cache path that could not be fixed: removed if removeErr is nil, else left as it is.
type permWarning struct {
	name           string
	err, removeErr error
}

// walk tightens name, of type typ as its parent's listing showed it, and then, for a directory,
// what it holds.
func (t *tightener) walk(name string, typ fs.FileMode) {
	isDir, err := t.tighten(name, typ)
	failed := err != nil
	if failed && t.fail(name, err) {
		return
	}
	if !isDir {
		return
	}
	entries, err := t.readDir(name)
	if err != nil && !failed && t.fail(name, err) {
		return
	}
	for _, e := range entries {
		t.walk(path.Join(name, e.Name()), e.Type())
	}
}

// tighten sets the mode of name, of type typ, and reports whether it is a directory to walk into.
func (t *tightener) tighten(name string, typ fs.FileMode) (isDir bool, err error) {
	switch {
	case typ&fs.ModeSymlink != 0:
		return false, nil
	case typ.IsDir(), typ.IsRegular() && isDataSecret(name):
	default:
		return false, nil
	}
	info, err := t.root.Lstat(name)
	if err != nil {
		return false, err
	}
	if info.Mode().Type() != typ {
		return false, nil // replaced while we walked
	}
	perm := info.Mode().Perm()
	mode := perm & dataSecretMode
	if typ.IsDir() {
		mode = dataDirMode
	}
	if perm != mode || info.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != 0 {
		err = t.root.Chmod(name, mode)
	}
	return typ.IsDir(), err
}

// fail records that name could not be tightened or listed, and reports whether the walk is done
// with name: it is gone, or it is a cache path (removed or skipped). Any other path is an error,
// and the walk goes on into it to tighten what it can.
func (t *tightener) fail(name string, err error) (done bool) {
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	if t.volumeRoot(name) {
		t.foreignRoots = append(t.foreignRoots, name)
		return name != "." // the data dir itself is walked still; lost+found is not trueup's
	}
	if !isDataCache(name) {
		if t.failed++; t.failed <= maxPermErrors {
			t.errs = append(t.errs, err)
		}
		return false
	}
	w := permWarning{name: name, err: err, removeErr: t.remove(name)}
	if t.warned++; t.warned <= maxPermErrors {
		t.warnings = append(t.warnings, w)
	}
	return true
}

// remove removes name and everything in it, first opening every directory in it to trueup (so that
// one that cannot be listed or written still can be emptied), never following a link.
func (t *tightener) remove(name string) error {
	t.openUp(name)
	return t.root.RemoveAll(name)
}

// openUp makes name, if it is a directory, and the directories in it 0700, as far as it can.
func (t *tightener) openUp(name string) {
	info, err := t.root.Lstat(name)
	if err != nil || !info.IsDir() {
		return
	}
	_ = t.root.Chmod(name, dataDirMode)
	entries, _ := t.readDir(name)
	for _, e := range entries {
		if e.IsDir() {
			t.openUp(path.Join(name, e.Name()))
		}
	}
}

// readDir lists the directory name, sorted by name (whatever it could read, on an error).
func (t *tightener) readDir(name string) ([]fs.DirEntry, error) {
	f, err := t.root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return entries, err
}

// isDataCache reports whether name, a slash-separated path inside the data dir, is in a cache that
// trueup recreates and that branch and pull request code can write to: the checkouts (work/) and
// the Terraform data dirs (tfdata/).
func isDataCache(name string) bool {
	return strings.HasPrefix(name, "work/") || strings.HasPrefix(name, "tfdata/")
}

// isDataSecret reports whether name, a slash-separated path inside the data dir, is a file that
// holds secrets: the store, Terraform state and plans (which hold state and sensitive values), and
// the mirror's git config (a remote URL may carry a token).
func isDataSecret(name string) bool {
	base := path.Base(name)
	switch {
	case name == "trueup.db", name == "mirror.git/config", strings.HasPrefix(name, "state/"):
		return true
	}
	return strings.HasSuffix(base, ".tfstate") || strings.HasSuffix(base, ".tfstate.backup") || strings.HasSuffix(base, ".tfplan")
}
