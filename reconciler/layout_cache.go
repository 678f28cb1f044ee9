package reconciler

import (
	"io/fs"
	"sync"
)

// The layouts kept are bounded in number and in the stacks they hold together: a layout of 2,000
// stacks takes about 2 MB, so a daemon following such a repository with 200 open pull requests
// (each on a tree of its own) would hold hundreds of MB if every tree's layout stayed. The newest
// layout is always kept. Main's layout is also held by the Reconciler, and the planner keeps the
// stacks each target plans, so an evicted tree costs a re-read only when it is seen again.
const (
	maxCachedLayouts = 256
	maxCachedStacks  = 20_000
)

// treeHasher is an fs.FS of a git tree that knows the tree's hash (git's treeFS).
type treeHasher interface {
	TreeHash() string
}

// layoutCache keeps the layouts of recently read trees by tree hash, so a tree seen again (a branch
// created from main, a merge whose tree a pull request already had) is not read again. Errors are
// not cached: a layout that failed to load is read again next time. It has its own lock.
type layoutCache struct {
	mu     sync.Mutex
	byKey  map[string]*Layout
	order  []string // oldest first
	stacks int      // the stacks of the layouts in byKey
}

// load returns the layout of fsys, reading it with loader unless its tree was seen before.
func (c *layoutCache) load(fsys fs.FS, loader LayoutLoader) (*Layout, error) {
	h, ok := fsys.(treeHasher)
	if !ok {
		return loader(fsys)
	}
	key := h.TreeHash()
	c.mu.Lock()
	l, hit := c.byKey[key]
	c.mu.Unlock()
	if hit {
		return l, nil
	}
	l, err := loader(fsys)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byKey == nil {
		c.byKey = map[string]*Layout{}
	}
	if _, dup := c.byKey[key]; !dup {
		c.byKey[key] = l
		c.order = append(c.order, key)
		c.stacks += len(l.Stacks)
		for len(c.order) > 1 && (len(c.order) > maxCachedLayouts || c.stacks > maxCachedStacks) {
			c.stacks -= len(c.byKey[c.order[0]].Stacks)
			delete(c.byKey, c.order[0])
			c.order = c.order[1:]
		}
	}
	return l, nil
}
