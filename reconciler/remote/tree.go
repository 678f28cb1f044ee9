package remote

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
)

// writeTree writes the files under dir as a tar.gz: directories, regular files and symlinks (as
// links, never followed), with slash-separated names relative to dir. Anything else (a FIFO, a
// socket) is left out. The checkout may hold untrusted code: files are opened without following
// links and without blocking.
func writeTree(ctx context.Context, w io.Writer, dir string) error {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		name := filepath.ToSlash(rel)
		switch {
		case d.IsDir():
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: 0o755})
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777})
		case d.Type().IsRegular():
			return addFile(tw, p, name)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("tree of %s: %w", dir, err)
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func addFile(tw *tar.Writer, p, name string) error {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return nil // replaced since the walk saw it
	}
	mode := int64(0o644)
	if fi.Mode()&0o111 != 0 {
		mode = 0o755
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: fi.Size()}); err != nil {
		return err
	}
	_, err = io.CopyN(tw, f, fi.Size())
	return err
}

// extractTree unpacks a tar.gz from writeTree into dir, which must exist and be empty. It refuses
// the whole tree at the first entry that would escape dir: an absolute name, "..", a name that
// goes through a symlink out of dir, or a symlink whose target lies outside dir (absolute or
// climbing out). Only directories, regular files and symlinks are accepted; sizes and entry
// counts are bounded.
func extractTree(r io.Reader, dir string) error {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("unpack tree: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("unpack tree: %w", err)
	}
	defer root.Close()
	tr := tar.NewReader(gz)
	var total int64
	var links []string
	for n := 0; ; n++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return checkLinks(dir, links)
		}
		if err != nil {
			return fmt.Errorf("unpack tree: %w", err)
		}
		if n >= maxTreeEntries {
			return fmt.Errorf("unpack tree: more than %d entries", maxTreeEntries)
		}
		name, err := localName(h.Name)
		if err != nil {
			return fmt.Errorf("unpack tree: entry %q: %w", h.Name, err)
		}
		total += h.Size
		if total > maxTreeBytes {
			return fmt.Errorf("unpack tree: more than %d bytes", int64(maxTreeBytes))
		}
		if throughLink(name, links) {
			return fmt.Errorf("unpack tree: entry %q: it lies under a symlink", h.Name)
		}
		if err := extractEntry(root, tr, h, name); err != nil {
			return fmt.Errorf("unpack tree: entry %q: %w", h.Name, err)
		}
		if h.Typeflag == tar.TypeSymlink {
			links = append(links, name)
		}
	}
}

// throughLink reports whether name is, or lies under, one of the symlinks already made: nothing
// is written through a link, so every link's directory is a real one.
func throughLink(name string, links []string) bool {
	for _, l := range links {
		if name == l || strings.HasPrefix(name, l+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// checkLinks resolves every symlink of the unpacked tree and refuses the tree when one leads
// outside dir or nowhere: a target can climb out through another link (a -> ., b -> a/..), which
// no check of one name alone sees.
func checkLinks(dir string, links []string) error {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fmt.Errorf("unpack tree: %w", err)
	}
	for _, l := range links {
		to, err := filepath.EvalSymlinks(filepath.Join(real, l))
		if err != nil {
			return fmt.Errorf("unpack tree: symlink %q leads nowhere inside the tree: %w", filepath.ToSlash(l), err)
		}
		if rel, err := filepath.Rel(real, to); err != nil || !filepath.IsLocal(rel) && rel != "." {
			return fmt.Errorf("unpack tree: symlink %q points outside the tree", filepath.ToSlash(l))
		}
	}
	return nil
}

// localName is a tar entry's name as a relative path that stays inside the tree.
func localName(name string) (string, error) {
	clean := strings.TrimSuffix(name, "/")
	if clean == "" || !filepath.IsLocal(filepath.FromSlash(clean)) || path.Clean(clean) != clean {
		return "", errors.New("the name leaves the tree")
	}
	return filepath.FromSlash(clean), nil
}

func extractEntry(root *os.Root, tr *tar.Reader, h *tar.Header, name string) error {
	if dir := filepath.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	switch h.Typeflag {
	case tar.TypeDir:
		return root.MkdirAll(name, 0o755)
	case tar.TypeReg:
		mode := os.FileMode(0o644)
		if h.Mode&0o111 != 0 {
			mode = 0o755
		}
		f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, tr); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	case tar.TypeSymlink:
		target := filepath.FromSlash(h.Linkname)
		if filepath.IsAbs(target) || !filepath.IsLocal(filepath.Join(filepath.Dir(name), target)) {
			return fmt.Errorf("a symlink to %q points outside the tree", h.Linkname)
		}
		return root.Symlink(target, name)
	default:
		return fmt.Errorf("type %q is not a directory, a regular file or a symlink", string(h.Typeflag))
	}
}
