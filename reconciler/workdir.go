package reconciler

import (
	"io/fs"
	"os"
	"path/filepath"
)

// removeTree removes dir and everything in it. Untrusted plans write in their workdirs and may
// leave directories without permissions (chmod 000): when a first attempt fails, every directory in
// the tree is given back to its owner (never following symlinks) and the removal is tried again.
func removeTree(dir string) error {
	err := os.RemoveAll(dir)
	if err == nil {
		return nil
	}
	_ = os.Chmod(dir, 0o700)
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if d != nil && d.IsDir() {
			_ = os.Chmod(path, 0o700) // WalkDir lists a directory after visiting it: fix it first
		}
		return nil
	})
	return os.RemoveAll(dir)
}
