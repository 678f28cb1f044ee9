package git

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/trueup/trueup/reconciler"
)

// tracked is one file of a tree, as Checkout writes it.
type tracked struct {
	hash plumbing.Hash
	mode filemode.FileMode
}

// Checkout makes dir hold exactly the tracked files of rev outside the directories skip names
// (slash-separated, relative to the repository root; their files are not written, and removed when
// an earlier Checkout wrote them): regular files (with the executable bit when git has it) and
// symbolic links. It keeps a manifest in dir (.trueup-checkout.json) of what
// it wrote, so that
//   - a file whose blob and mode did not change, and that still has the size and modification time
//     Checkout left, is not rewritten;
//   - only files it wrote before and that are gone from rev are deleted, with the directories that
//     become empty; everything else in dir (Terraform state, .terraform/, plan files) is left alone.
//
// Each file is written to a temporary name and renamed into place, so a reader never sees half a
// file. The manifest is updated before any file is touched to mark the files in flight as unknown,
// so a Checkout interrupted by a crash is completed by the next one. All writes go through an
// os.Root on dir, and tree paths with ".", ".." or ".git" components are refused, so a hostile tree
// cannot write outside dir. Submodules become empty directories.
// Checkout may run concurrently with other Mirror calls, but not with another Checkout of the same dir.
func (m *Mirror) Checkout(ctx context.Context, rev reconciler.Revision, dir string, skip ...string) error {
	if err := m.checkout(ctx, rev, dir, skip); err != nil {
		return fmt.Errorf("checkout %s: %w", rev.Short(), err)
	}
	return nil
}

func (m *Mirror) checkout(ctx context.Context, rev reconciler.Revision, dir string, skip []string) error {
	want, submodules, err := m.trackedFiles(ctx, rev, skip)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()

	old := readManifest(root)
	var writes, deletes []string
	rewrite := map[string]bool{}
	for p := range old.Files {
		if _, ok := want[p]; !ok {
			deletes = append(deletes, p)
		}
	}
	for p, t := range want {
		if !old.unchanged(root, p, t) {
			writes = append(writes, p)
			rewrite[p] = true
		}
	}
	slices.Sort(writes)
	slices.Sort(deletes)
	if len(writes) == 0 && len(deletes) == 0 && old.Revision == rev {
		return nil
	}

	// Mark what is about to change as unknown first: a crash from here on leaves a manifest that
	// makes the next Checkout rewrite (or delete) every file that was in flight.
	if len(writes) > 0 {
		pending := old.clone()
		for _, p := range writes {
			pending.Files[p] = manifestEntry{}
		}
		if err := writeManifest(root, pending); err != nil {
			return err
		}
	}

	if err := removeFiles(root, deletes); err != nil {
		return err
	}
	next := manifest{Revision: rev, Files: make(map[string]manifestEntry, len(want))}
	for p := range want {
		if !rewrite[p] {
			next.Files[p] = old.Files[p]
		}
	}
	for _, p := range writes {
		if err := ctx.Err(); err != nil {
			return err
		}
		t := want[p]
		m.mu.Lock()
		data, err := readBlob(m, t.hash)
		m.mu.Unlock()
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
		info, err := writeFile(root, p, data, t.mode)
		if err != nil {
			return err
		}
		next.Files[p] = entryFor(t, info)
	}
	for _, p := range submodules {
		if err := root.MkdirAll(filepath.FromSlash(p), 0o755); err != nil {
			return err
		}
	}
	return writeManifest(root, next)
}

// trackedFiles lists rev's files (not directories) with their blobs and modes, reading tree
// objects only, and the paths of its submodules, leaving out the directories skip names. Paths are
// checked to stay inside the checkout.
func (m *Mirror) trackedFiles(ctx context.Context, rev reconciler.Revision, skip []string) (map[string]tracked, []string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, t, err := m.rootTree(rev)
	if err != nil {
		return nil, nil, err
	}
	skipped := make(map[string]bool, len(skip))
	for _, d := range skip {
		skipped[path.Clean(d)] = true
	}
	files := map[string]tracked{}
	var submodules []string
	err = walkTree(m, t, "", skipped, func(p string, e object.TreeEntry) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !safePath(p) {
			return fmt.Errorf("refusing tree path %q: it could leave the checkout directory", p)
		}
		switch {
		case p == manifestName:
			m.log.Warn("repository tracks trueup's checkout manifest; not checking it out", "path", p)
		case e.Mode == filemode.Submodule:
			submodules = append(submodules, p)
		case e.Mode == filemode.Regular, e.Mode == filemode.Deprecated, e.Mode == filemode.Executable, e.Mode == filemode.Symlink:
			files[p] = tracked{hash: e.Hash, mode: e.Mode}
		default:
			return fmt.Errorf("tree path %q has unsupported mode %s", p, e.Mode)
		}
		return nil
	})
	return files, submodules, err
}

// safePath reports whether a tree path is a plain relative path: no empty, ".", ".." or ".git"
// component and no NUL. Git itself refuses such trees; a crafted pack need not.
func safePath(p string) bool {
	if p == "" || strings.ContainsRune(p, 0) || path.IsAbs(p) {
		return false
	}
	for _, c := range strings.Split(p, "/") {
		if c == "" || c == "." || c == ".." || strings.EqualFold(c, ".git") {
			return false
		}
	}
	return true
}

// removeFiles deletes files Checkout wrote before, then the directories that became empty.
func removeFiles(root *os.Root, paths []string) error {
	dirs := map[string]bool{}
	for _, p := range paths {
		if err := root.Remove(filepath.FromSlash(p)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", p, err)
		}
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	// Deepest first, so a parent is tried after its children. A directory that still holds
	// something (someone else's files) stays; that is the point.
	ordered := make([]string, 0, len(dirs))
	for d := range dirs {
		ordered = append(ordered, d)
	}
	slices.SortFunc(ordered, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	for _, d := range ordered {
		_ = root.Remove(filepath.FromSlash(d))
	}
	return nil
}

// writeFile puts one file (or symbolic link) in place through a temporary name and a rename,
// and returns what it left on disk.
func writeFile(root *os.Root, p string, data []byte, mode filemode.FileMode) (fs.FileInfo, error) {
	name := filepath.FromSlash(p)
	if d := filepath.Dir(name); d != "." {
		if err := root.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("write %s: %w", p, err)
		}
	}
	tmp := filepath.Join(filepath.Dir(name), ".trueup-tmp-"+randomSuffix()+"-"+filepath.Base(name))
	if mode == filemode.Symlink {
		if err := root.Symlink(string(data), tmp); err != nil {
			return nil, fmt.Errorf("write %s: %w", p, err)
		}
	} else {
		perm := fs.FileMode(0o644)
		if mode == filemode.Executable {
			perm = 0o755
		}
		f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		if err != nil {
			return nil, fmt.Errorf("write %s: %w", p, err)
		}
		_, err = f.Write(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			_ = root.Remove(tmp)
			return nil, fmt.Errorf("write %s: %w", p, err)
		}
	}
	// A directory where the file goes (the tree turned a directory into a file) must go first;
	// Remove only succeeds when it is empty, which keeps other people's files safe.
	if info, err := root.Lstat(name); err == nil && info.IsDir() {
		if err := root.Remove(name); err != nil {
			_ = root.Remove(tmp)
			return nil, fmt.Errorf("write %s: %w", p, err)
		}
	}
	if err := root.Rename(tmp, name); err != nil {
		_ = root.Remove(tmp)
		return nil, fmt.Errorf("write %s: %w", p, err)
	}
	info, err := root.Lstat(name)
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", p, err)
	}
	return info, nil
}

func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
