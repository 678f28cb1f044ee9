package terraform

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/hashicorp/terraform-config-inspect/tfconfig"
)

// maxConfigFile bounds what trueup reads of one file of a checkout for its own use.
const maxConfigFile = 8 << 20

// checkoutFS reads a run's checkout for trueup's own use (the backend it declares, the init
// fingerprint, the dependency lock file) without trusting it: a branch controls every file there,
// and trueup reads them outside the sandbox. Paths never leave the checkout (os.Root: a symlink
// to /dev/zero or to the data dir is refused), only regular files are read, never blocking (a FIFO
// planted by an earlier plan is refused), and at most maxConfigFile bytes of each.
type checkoutFS struct {
	root *os.Root
}

var _ tfconfig.FS = checkoutFS{}

func openCheckout(dir string) (checkoutFS, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return checkoutFS{}, err
	}
	return checkoutFS{root: root}, nil
}

func (c checkoutFS) close() {
	if c.root != nil {
		_ = c.root.Close()
	}
}

// Open opens a regular file or a directory.
func (c checkoutFS) Open(name string) (tfconfig.File, error) {
	f, err := c.root.OpenFile(filepath.FromSlash(name), os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	switch {
	case fi.IsDir():
	case !fi.Mode().IsRegular():
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: errors.New("not a regular file")}
	case fi.Size() > maxConfigFile:
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("larger than %d bytes", maxConfigFile)}
	}
	return f, nil
}

// ReadFile reads a regular file whole.
func (c checkoutFS) ReadFile(name string) ([]byte, error) {
	f, err := c.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxConfigFile+1))
	if err == nil && len(b) > maxConfigFile {
		err = &fs.PathError{Op: "read", Path: name, Err: fmt.Errorf("larger than %d bytes", maxConfigFile)}
	}
	return b, err
}

// ReadDir lists a directory, sorted by name.
func (c checkoutFS) ReadDir(name string) ([]os.FileInfo, error) {
	entries, err := fs.ReadDir(c.root.FS(), filepath.ToSlash(filepath.Clean(name)))
	if err != nil {
		return nil, err
	}
	out := make([]os.FileInfo, 0, len(entries))
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		out = append(out, fi)
	}
	return out, nil
}

// hash writes the file's name and content into h.
func (c checkoutFS) hash(h io.Writer, name string) error {
	b, err := c.ReadFile(name)
	if err != nil {
		return err
	}
	fmt.Fprintf(h, "file=%s\n", name)
	_, err = h.Write(b)
	return err
}

// readSmallFile reads a file trueup wrote itself into a directory an untrusted run can write
// (the fingerprint, the selected workspace): only a regular file, never through a symlink, never
// blocking, at most maxConfigFile bytes.
func readSmallFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &fs.PathError{Op: "read", Path: path, Err: errors.New("not a regular file")}
	}
	b, err := io.ReadAll(io.LimitReader(f, maxConfigFile+1))
	if err == nil && len(b) > maxConfigFile {
		err = &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("larger than %d bytes", maxConfigFile)}
	}
	return b, err
}
