package git

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/trueup/trueup/reconciler"
)

// errOutside is what following a symbolic link that leaves the tree (absolute, or too many "..") reports.
var errOutside = errors.New("symbolic link leads out of the repository tree")

// errLinkLoop is what a chain of symbolic links that does not end reports.
var errLinkLoop = errors.New("too many levels of symbolic links")

// maxLinkHops bounds symbolic link chains, as Linux's 40 does.
const maxLinkHops = 40

// Tree returns a read-only view of the files of rev, read lazily from the mirror's object store
// (nothing is checked out). The view implements fs.ReadDirFS, fs.ReadFileFS, fs.StatFS and
// fs.ReadLinkFS, and is safe for concurrent use alongside every other Mirror method.
//
// Symbolic links: Lstat and ReadDir report them with fs.ModeSymlink and ReadLink returns their
// target. Open, Stat, ReadFile and ReadDir follow them (in the path and at its end) like the
// operating system would, but only inside the tree: a link that is absolute or climbs out of the
// root fails with an error, never reaching the host's file system. Submodules appear as empty
// directories, as in a checkout without submodules. Every entry's modification time is the commit's.
func (m *Mirror) Tree(ctx context.Context, rev reconciler.Revision) (fs.FS, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, t, err := m.rootTree(rev)
	if err != nil {
		return nil, fmt.Errorf("tree %s: %w", rev.Short(), err)
	}
	f := &treeFS{m: m, modTime: c.Committer.When, root: t.Hash, dirs: map[plumbing.Hash]*dirIndex{}}
	f.dirs[t.Hash] = indexTree(t)
	return f, nil
}

// TreeHash is the hash of the tree: two revisions with the same tree hold the same files, so what is
// read from one (the stacks' layout) holds for the other.
func (f *treeFS) TreeHash() string { return f.root.String() }

// DirHash is the tree hash of directory name: the same hash means the same files. It is not known
// (false) for a directory that holds symbolic links, whose targets may lie outside its tree.
func (f *treeFS) DirHash(name string) (string, bool) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	n, err := f.lookup("dirhash", name, true)
	if err != nil || !n.isDir() {
		return "", false
	}
	d, err := f.dir(n)
	if err != nil {
		return "", false
	}
	for _, e := range d.entries {
		if e.Mode == filemode.Symlink {
			return "", false
		}
	}
	return n.hash.String(), true
}

// treeFS is a commit tree seen as an fs.FS. Every method takes the mirror's mutex: the go-git
// storage below is not safe for concurrent use. dirs caches decoded trees, guarded by the same mutex.
type treeFS struct {
	m       *Mirror
	modTime time.Time
	root    plumbing.Hash
	dirs    map[plumbing.Hash]*dirIndex
}

var (
	_ fs.ReadDirFS  = (*treeFS)(nil)
	_ fs.ReadFileFS = (*treeFS)(nil)
	_ fs.StatFS     = (*treeFS)(nil)
	_ fs.ReadLinkFS = (*treeFS)(nil)
)

// dirIndex is a decoded tree with its entries sorted by name (git sorts directories as "name/").
type dirIndex struct {
	entries []object.TreeEntry
	byName  map[string]int
}

func indexTree(t *object.Tree) *dirIndex {
	d := &dirIndex{entries: slices.Clone(t.Entries), byName: make(map[string]int, len(t.Entries))}
	slices.SortFunc(d.entries, func(a, b object.TreeEntry) int { return strings.Compare(a.Name, b.Name) })
	for i, e := range d.entries {
		d.byName[e.Name] = i
	}
	return d
}

// node is one resolved entry of the tree.
type node struct {
	name string // base name; "." for the root
	mode filemode.FileMode
	hash plumbing.Hash
}

func (n node) isDir() bool { return n.mode == filemode.Dir || n.mode == filemode.Submodule }

// dir returns the decoded tree of a directory node. Callers hold m.mu.
func (f *treeFS) dir(n node) (*dirIndex, error) {
	if n.mode == filemode.Submodule {
		return &dirIndex{}, nil
	}
	if d, ok := f.dirs[n.hash]; ok {
		return d, nil
	}
	t, err := f.m.repo.TreeObject(n.hash)
	if err != nil {
		return nil, err
	}
	d := indexTree(t)
	f.dirs[n.hash] = d
	return d, nil
}

// blob reads an object's content. Callers hold m.mu.
func (f *treeFS) blob(h plumbing.Hash) ([]byte, error) {
	return readBlob(f.m, h)
}

func readBlob(m *Mirror, h plumbing.Hash) ([]byte, error) {
	b, err := m.repo.BlobObject(h)
	if err != nil {
		return nil, err
	}
	r, err := b.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	buf := make([]byte, 0, b.Size)
	w := bytes.NewBuffer(buf)
	if _, err := io.Copy(w, r); err != nil {
		return nil, err
	}
	return w.Bytes(), nil
}

// lookup resolves name, following symbolic links in its directories, and at its end when
// follow is set. Callers hold m.mu.
func (f *treeFS) lookup(op, name string, follow bool) (node, error) {
	if !fs.ValidPath(name) {
		return node{}, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	cur := node{name: ".", mode: filemode.Dir, hash: f.root}
	if name == "." {
		return cur, nil
	}
	parts := strings.Split(name, "/")
	curPath := "" // the resolved path of cur, "" for the root
	hops := 0
	for i := 0; i < len(parts); i++ {
		if !cur.isDir() {
			return node{}, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		d, err := f.dir(cur)
		if err != nil {
			return node{}, &fs.PathError{Op: op, Path: name, Err: err}
		}
		idx, ok := d.byName[parts[i]]
		if !ok {
			return node{}, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		e := d.entries[idx]
		last := i == len(parts)-1
		if e.Mode == filemode.Symlink && (!last || follow) {
			if hops++; hops > maxLinkHops {
				return node{}, &fs.PathError{Op: op, Path: name, Err: errLinkLoop}
			}
			target, err := f.blob(e.Hash)
			if err != nil {
				return node{}, &fs.PathError{Op: op, Path: name, Err: err}
			}
			next := path.Join(curPath, string(target))
			if path.IsAbs(string(target)) || next == ".." || strings.HasPrefix(next, "../") {
				return node{}, &fs.PathError{Op: op, Path: name, Err: errOutside}
			}
			// Restart from the root with the link replaced by its target.
			rest := parts[i+1:]
			parts = nil
			if next != "." {
				parts = strings.Split(next, "/")
			}
			parts = append(parts, rest...)
			cur, curPath, i = node{name: ".", mode: filemode.Dir, hash: f.root}, "", -1
			continue
		}
		cur = node{name: e.Name, mode: e.Mode, hash: e.Hash}
		curPath = path.Join(curPath, e.Name)
	}
	return cur, nil
}

// Open opens name, following symbolic links. A file's content is read when it is opened.
func (f *treeFS) Open(name string) (fs.File, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	n, err := f.lookup("open", name, true)
	if err != nil {
		return nil, err
	}
	info := f.info(n)
	info.name = path.Base(name)
	if n.isDir() {
		entries, err := f.readDir(n)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return &openDir{info: info, entries: entries}, nil
	}
	data, err := f.blob(n.hash)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	info.size = int64(len(data))
	return &openFile{info: info, r: bytes.NewReader(data)}, nil
}

// ReadFile returns the content of name, following symbolic links.
func (f *treeFS) ReadFile(name string) ([]byte, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	n, err := f.lookup("read", name, true)
	if err != nil {
		return nil, err
	}
	if n.isDir() {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errors.New("is a directory")}
	}
	data, err := f.blob(n.hash)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	return data, nil
}

// ReadDir lists the directory name (following symbolic links), sorted by name. Entries that are
// symbolic links are reported as such.
func (f *treeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	n, err := f.lookup("readdir", name, true)
	if err != nil {
		return nil, err
	}
	if !n.isDir() {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	entries, err := f.readDir(n)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
	}
	return entries, nil
}

// Stat describes name, following symbolic links.
func (f *treeFS) Stat(name string) (fs.FileInfo, error) {
	return f.stat("stat", name, true)
}

// Lstat describes name without following a symbolic link at its end.
func (f *treeFS) Lstat(name string) (fs.FileInfo, error) {
	return f.stat("lstat", name, false)
}

func (f *treeFS) stat(op, name string, follow bool) (fs.FileInfo, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	n, err := f.lookup(op, name, follow)
	if err != nil {
		return nil, err
	}
	info := f.info(n)
	info.name = path.Base(name)
	if err := f.fillSize(info); err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	return info, nil
}

// ReadLink returns the target of the symbolic link name, as stored.
func (f *treeFS) ReadLink(name string) (string, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	n, err := f.lookup("readlink", name, false)
	if err != nil {
		return "", err
	}
	if n.mode != filemode.Symlink {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	target, err := f.blob(n.hash)
	if err != nil {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: err}
	}
	return string(target), nil
}

// readDir lists a directory node. Callers hold m.mu.
func (f *treeFS) readDir(n node) ([]fs.DirEntry, error) {
	d, err := f.dir(n)
	if err != nil {
		return nil, err
	}
	out := make([]fs.DirEntry, len(d.entries))
	for i, e := range d.entries {
		out[i] = dirEntry{f: f, info: f.info(node{name: e.Name, mode: e.Mode, hash: e.Hash})}
	}
	return out, nil
}

func (f *treeFS) info(n node) *fileInfo {
	return &fileInfo{name: n.name, mode: fsMode(n.mode), hash: n.hash, modTime: f.modTime, size: -1}
}

// fillSize reads a blob's size from its object header (not its content). Callers hold m.mu.
func (f *treeFS) fillSize(info *fileInfo) error {
	if info.size >= 0 {
		return nil
	}
	if info.mode.IsDir() {
		info.size = 0
		return nil
	}
	size, err := f.m.storage.EncodedObjectSize(info.hash)
	if err != nil {
		return err
	}
	info.size = size
	return nil
}

// fsMode maps a git mode to an fs.FileMode.
func fsMode(m filemode.FileMode) fs.FileMode {
	switch m {
	case filemode.Dir, filemode.Submodule:
		return fs.ModeDir | 0o755
	case filemode.Symlink:
		return fs.ModeSymlink | 0o777
	case filemode.Executable:
		return 0o755
	default:
		return 0o644
	}
}

type fileInfo struct {
	name    string
	mode    fs.FileMode
	hash    plumbing.Hash
	modTime time.Time
	size    int64 // -1 until known
}

func (i *fileInfo) Name() string       { return i.name }
func (i *fileInfo) Size() int64        { return max(i.size, 0) }
func (i *fileInfo) Mode() fs.FileMode  { return i.mode }
func (i *fileInfo) ModTime() time.Time { return i.modTime }
func (i *fileInfo) IsDir() bool        { return i.mode.IsDir() }
func (i *fileInfo) Sys() any           { return nil }

// dirEntry defers reading the blob size to Info, which most walks never call.
type dirEntry struct {
	f    *treeFS
	info *fileInfo
}

func (e dirEntry) Name() string      { return e.info.name }
func (e dirEntry) IsDir() bool       { return e.info.IsDir() }
func (e dirEntry) Type() fs.FileMode { return e.info.mode.Type() }
func (e dirEntry) Info() (fs.FileInfo, error) {
	e.f.m.mu.Lock()
	defer e.f.m.mu.Unlock()
	info := *e.info
	if err := e.f.fillSize(&info); err != nil {
		return nil, err
	}
	return &info, nil
}
func (e dirEntry) String() string { return fs.FormatDirEntry(e) }

// openFile is an opened regular file (or link content) whose bytes were read at Open.
type openFile struct {
	info *fileInfo
	r    *bytes.Reader
}

func (o *openFile) Stat() (fs.FileInfo, error) { return o.info, nil }
func (o *openFile) Read(p []byte) (int, error) { return o.r.Read(p) }
func (o *openFile) Seek(off int64, whence int) (int64, error) {
	return o.r.Seek(off, whence)
}
func (o *openFile) ReadAt(p []byte, off int64) (int, error) { return o.r.ReadAt(p, off) }
func (o *openFile) Close() error                            { return nil }

// openDir is an opened directory; its entries were listed at Open.
type openDir struct {
	info    *fileInfo
	entries []fs.DirEntry
	off     int
}

func (d *openDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *openDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.name, Err: errors.New("is a directory")}
}
func (d *openDir) Close() error { return nil }

// ReadDir implements fs.ReadDirFile.
func (d *openDir) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.entries[d.off:]
	if n <= 0 {
		d.off = len(d.entries)
		return slices.Clone(rest), nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(rest))
	d.off += n
	return slices.Clone(rest[:n]), nil
}
