package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
)

// Modes of the data dir: only trueup's own user may enter it or read what it keeps.
const (
	dataDirMode    fs.FileMode = 0o700
	dataSecretMode fs.FileMode = 0o600
)

// maxPermErrors is how many failed paths tightenDataDir names in its error.
const maxPermErrors = 5

// tightenDataDir takes group and other permissions off what trueup keeps in dataDir, which older
// versions of trueup created with 0755 directories and 0644 files: the data dir and every
// directory in it become 0700 at most; the store (trueup.db), state (*.tfstate, *.tfstate.backup,
// every file under state/), plan files (*.tfplan) and the mirror's git config 0600 at most. Modes are
// only ever narrowed, and other files keep theirs (the checkouts, providers, git objects — unreadable
// to others once their directories are 0700).
//
// Symbolic links are neither followed nor changed: a checkout of a branch may hold any link, say
// "x.tfstate -> /home/trueup/.ssh/id_ed25519" or "state -> /etc". Every change goes through an
// os.Root, so even a path swapped for a link while the walk runs cannot reach outside dataDir.
// dataDir itself may be a link (an operator's choice). Run it before anything else uses dataDir.
// A path it cannot change fails it, naming the first few such paths.
func tightenDataDir(dataDir string) error {
	root, err := os.OpenRoot(dataDir)
	if err != nil {
		return fmt.Errorf("tighten data dir permissions: %w", err)
	}
	defer root.Close()
	var errs []error
	failed := 0
	fail := func(err error) {
		if failed++; failed <= maxPermErrors {
			errs = append(errs, err)
		}
	}
	walkErr := fs.WalkDir(root.FS(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				fail(err)
			}
			return nil // a directory that cannot be read is skipped; its error is kept
		}
		var mask fs.FileMode
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			return nil
		case d.IsDir():
			mask = dataDirMode
		case d.Type().IsRegular() && isDataSecret(name):
			mask = dataSecretMode
		default:
			return nil
		}
		info, err := root.Lstat(name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil
		case err != nil:
			fail(err)
			return nil
		case info.Mode().Type() != d.Type():
			return nil // replaced while we walked
		}
		if mode := info.Mode().Perm(); mode&^mask != 0 || info.Mode()&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != 0 {
			if err := root.Chmod(name, mode&mask); err != nil && !errors.Is(err, fs.ErrNotExist) {
				fail(err)
			}
		}
		return nil
	})
	if walkErr != nil {
		fail(walkErr)
	}
	if failed == 0 {
		return nil
	}
	if failed > maxPermErrors {
		errs = append(errs, fmt.Errorf("and %d more", failed-maxPermErrors))
	}
	return fmt.Errorf("tighten permissions in data dir %s (fix the owner or the mode of these paths): %w", dataDir, errors.Join(errs...))
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
