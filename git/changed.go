package git

import (
	"context"
	"fmt"
	"sort"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/trueup/trueup/reconciler"
)

// Changed returns the sorted, slash-separated paths that differ between the trees of from and to:
// added, deleted, modified (content or mode), and both names of a rename (a rename is a deletion
// plus an addition; no blob is read to pair them). An empty from means every path in to.
// Only tree objects are read: subtrees with equal hashes are skipped whole.
func (m *Mirror) Changed(ctx context.Context, from, to reconciler.Revision) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, toTree, err := m.rootTree(to)
	if err != nil {
		return nil, fmt.Errorf("changed %s..%s: %w", from.Short(), to.Short(), err)
	}
	if from == "" {
		var paths []string
		err := walkTree(m, toTree, "", nil, func(p string, e object.TreeEntry) error {
			paths = append(paths, p)
			return ctx.Err()
		})
		if err != nil {
			return nil, fmt.Errorf("changed ..%s: %w", to.Short(), err)
		}
		sort.Strings(paths)
		return paths, nil
	}
	_, fromTree, err := m.rootTree(from)
	if err != nil {
		return nil, fmt.Errorf("changed %s..%s: %w", from.Short(), to.Short(), err)
	}
	changes, err := object.DiffTreeWithOptions(ctx, fromTree, toTree, &object.DiffTreeOptions{})
	if err != nil {
		return nil, fmt.Errorf("changed %s..%s: %w", from.Short(), to.Short(), err)
	}
	seen := map[string]bool{}
	var paths []string
	add := func(p string) {
		if p != "" && !seen[p] {
			seen[p] = true
			paths = append(paths, p)
		}
	}
	for _, c := range changes {
		add(c.From.Name)
		add(c.To.Name)
	}
	sort.Strings(paths)
	return paths, nil
}

// walkTree calls fn for every non-directory entry under t (files, symlinks, submodules) with its
// slash-separated path, reading only tree objects. Callers hold m.mu.
func walkTree(m *Mirror, t *object.Tree, prefix string, skip map[string]bool, fn func(path string, e object.TreeEntry) error) error {
	for _, e := range t.Entries {
		p := e.Name
		if prefix != "" {
			p = prefix + "/" + e.Name
		}
		if e.Mode == filemode.Dir {
			if skip[p] {
				continue
			}
			sub, err := m.repo.TreeObject(e.Hash)
			if err != nil {
				return fmt.Errorf("tree %s: %w", p, err)
			}
			if err := walkTree(m, sub, p, skip, fn); err != nil {
				return err
			}
			continue
		}
		if err := fn(p, e); err != nil {
			return err
		}
	}
	return nil
}

// MergeBase returns the best common ancestor of a and b, or an error wrapping
// reconciler.ErrNotFound when they share no history (or one of them is unknown).
func (m *Mirror) MergeBase(ctx context.Context, a, b reconciler.Revision) (reconciler.Revision, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ca, err := m.commit(a)
	if err != nil {
		return "", fmt.Errorf("merge base %s %s: %w", a.Short(), b.Short(), err)
	}
	cb, err := m.commit(b)
	if err != nil {
		return "", fmt.Errorf("merge base %s %s: %w", a.Short(), b.Short(), err)
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("merge base %s %s: %w", a.Short(), b.Short(), err)
	}
	bases, err := ca.MergeBase(cb)
	if err != nil {
		return "", fmt.Errorf("merge base %s %s: %w", a.Short(), b.Short(), err)
	}
	if len(bases) == 0 {
		return "", fmt.Errorf("merge base %s %s: %w", a.Short(), b.Short(), reconciler.ErrNotFound)
	}
	return reconciler.Revision(bases[0].Hash.String()), nil
}
