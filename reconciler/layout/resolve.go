package layout

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// errEscapes marks a path that leads out of the repository.
var errEscapes = errors.New("leads out of the repository")

// resolver finds the real, symlink-free path of a repository path. Every component is checked
// with Lstat; a link whose target is absolute, or whose target joined with the link's directory
// leaves the root, is refused. Links that stay inside are followed, chains included.
// Results are memoized per path, so resolving many paths under one directory stays cheap.
type resolver struct {
	fsys  fs.FS
	cache map[string]resolved
}

type resolved struct {
	real string
	err  error
}

func newResolver(fsys fs.FS) *resolver {
	return &resolver{fsys: fsys, cache: map[string]resolved{}}
}

// errLinkLoop is what a path resolving to itself through links reports.
var errLinkLoop = errors.New("too many levels of symbolic links")

// resolve returns the real path of name, a clean slash-separated path relative to the root.
// A missing component is an error wrapping fs.ErrNotExist; a link out of the root wraps errEscapes.
func (r *resolver) resolve(name string) (string, error) {
	name = path.Clean(name)
	if name == "." {
		return ".", nil
	}
	if outside(name) {
		return "", fmt.Errorf("%s %w", name, errEscapes)
	}
	if v, ok := r.cache[name]; ok {
		return v.real, v.err
	}
	real, err := r.resolveUncached(name)
	r.cache[name] = resolved{real, err}
	return real, err
}

func (r *resolver) resolveUncached(name string) (string, error) {
	parent, err := r.resolve(path.Dir(name))
	if err != nil {
		return "", err
	}
	p := path.Join(parent, path.Base(name))
	info, err := fs.Lstat(r.fsys, p)
	if err != nil {
		// A component that is a file rather than a directory also lands here: either way the
		// path does not exist as asked.
		return "", fmt.Errorf("%s: %w", name, fs.ErrNotExist)
	}
	if info.Mode()&fs.ModeSymlink == 0 {
		return p, nil
	}
	target, err := fs.ReadLink(r.fsys, p)
	if err != nil {
		return "", fmt.Errorf("read link %s: %w", p, err)
	}
	if path.IsAbs(target) {
		return "", fmt.Errorf("%s %w through symlink %s -> %s", name, errEscapes, p, target)
	}
	next := path.Join(parent, target)
	if outside(next) {
		return "", fmt.Errorf("%s %w through symlink %s -> %s", name, errEscapes, p, target)
	}
	// Mark name as in progress: a chain that comes back to it is a loop, not a recursion.
	r.cache[name] = resolved{err: fmt.Errorf("%s: %w", name, errLinkLoop)}
	real, err := r.resolve(next)
	if err != nil && !errors.Is(err, errLinkLoop) && !errors.Is(err, errEscapes) {
		return "", fmt.Errorf("%s -> %s: %w", p, target, err)
	}
	return real, err
}

// outside reports whether a clean relative path leaves the root (or is absolute).
func outside(p string) bool {
	return p == ".." || strings.HasPrefix(p, "../") || path.IsAbs(p)
}
