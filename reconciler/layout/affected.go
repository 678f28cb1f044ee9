package layout

import (
	"fmt"
	"path"
	"strings"

	"github.com/trueup/trueup/reconciler"
)

// How changed paths affect stacks. A changed path p affects stack S when:
//
//  1. p is inside a root of S — its dir or one of its ModuleDirs (as written, and as resolved
//     through symlinks) — and that root is p's nearest enclosing root among all stacks' roots.
//     So a change in a subdirectory that is itself another stack, or a module S does not call,
//     belongs to that directory only; any other subdirectory (files/, templates/) belongs to
//     the directory around it. Module changes reach every stack that calls the module,
//     directly or transitively.
//  2. p matches one of S's when_modified globs (relative to S's dir; "**" matches any number of
//     directories; a pattern matching a directory matches everything below it).
//     Unlike Atlantis, when_modified ADDS to rule 1 rather than replacing it: missing a
//     module change is the dangerous mistake, planning one stack too many is cheap.
//  3. p is one of S's var files.
//
// .trueup.yaml itself affects no stack through rule 1 (even a stack at the repository root):
// when it changes, the daemon reloads the layout, and a new or changed entry is planned
// because its applied revision is unknown. A path outside every root affects nothing.
//
// Changed paths should be checked against the layout of the newer revision; a caller that
// also wants deleted stacks must check the older layout too.

// watchSet is what one stack watches.
type watchSet struct {
	roots    map[string]bool
	varFiles map[string]bool
	globs    [][]string // patterns joined to the stack's dir, split into segments
}

func newWatchSet(s reconciler.Stack, extraRoots []string) (watchSet, error) {
	w := watchSet{roots: map[string]bool{path.Clean(s.Dir): true}, varFiles: map[string]bool{}}
	for _, d := range s.ModuleDirs {
		w.roots[path.Clean(d)] = true
	}
	for _, d := range extraRoots {
		w.roots[path.Clean(d)] = true
	}
	for _, v := range s.VarFiles {
		w.varFiles[path.Join(s.Dir, v)] = true
	}
	for _, g := range s.WhenModified {
		if err := checkGlob(path.Clean(s.Dir), g); err != nil {
			return w, fmt.Errorf("stack %s: when_modified: %w", s.Name, err)
		}
		w.globs = append(w.globs, strings.Split(path.Join(s.Dir, g), "/"))
	}
	return w, nil
}

// Affected returns the names of the stacks that the changed paths (slash-separated, relative
// to the repository root) affect, sorted.
func (l *Layout) Affected(changed []string) []string {
	hit := make([]bool, len(l.Stacks))
	for _, p := range changed {
		p, ok := cleanChanged(p)
		if !ok {
			continue
		}
		if p != ConfigFile {
			for _, i := range l.nearestRoot(p) {
				hit[i] = true
			}
		}
		for i := range l.Stacks {
			if !hit[i] && l.watch[i].matchesExtra(p) {
				hit[i] = true
			}
		}
	}
	var names []string
	for i, h := range hit {
		if h {
			names = append(names, l.Stacks[i].Name)
		}
	}
	return names
}

// AffectedStack reports whether the changed paths affect s. s is usually one of l.Stacks; a
// stack that is not (matched by Name and Dir) is judged by its own fields against l's roots.
func (l *Layout) AffectedStack(s reconciler.Stack, changed []string) bool {
	var w watchSet
	if i, ok := l.byName[s.Name]; ok && l.Stacks[i].Dir == s.Dir {
		w = l.watch[i]
	} else {
		var err error
		if w, err = newWatchSet(s, nil); err != nil {
			// A bad pattern cannot match anything; the roots and var files still count.
			w.globs = nil
		}
	}
	for _, p := range changed {
		p, ok := cleanChanged(p)
		if !ok {
			continue
		}
		if p != ConfigFile && w.ownsNearest(p, l.roots) {
			return true
		}
		if w.matchesExtra(p) {
			return true
		}
	}
	return false
}

// nearestRoot returns the stacks owning p's nearest enclosing root (p itself included).
func (l *Layout) nearestRoot(p string) []int {
	for d := p; ; d = path.Dir(d) {
		if owners, ok := l.roots[d]; ok {
			return owners
		}
		if d == "." {
			return nil
		}
	}
}

// ownsNearest reports whether p's nearest enclosing root, among w's roots and all others, is w's.
func (w watchSet) ownsNearest(p string, others map[string][]int) bool {
	for d := p; ; d = path.Dir(d) {
		if w.roots[d] {
			return true
		}
		if _, ok := others[d]; ok {
			return false
		}
		if d == "." {
			return false
		}
	}
}

// matchesExtra applies rules 2 and 3.
func (w watchSet) matchesExtra(p string) bool {
	if w.varFiles[p] {
		return true
	}
	if len(w.globs) == 0 {
		return false
	}
	segs := strings.Split(p, "/")
	for _, g := range w.globs {
		if matchSegments(g, segs) {
			return true
		}
	}
	return false
}

// matchSegments matches a path against a pattern, segment by segment: "**" matches any number
// of segments (zero included), other segments as path.Match does. A pattern that matches a
// leading part of the path matches the whole path (a directory matches what it holds).
func matchSegments(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for len(pat) > 0 && pat[0] == "**" {
				pat = pat[1:]
			}
			if len(pat) == 0 {
				return true
			}
			for k := range len(name) + 1 {
				if matchSegments(pat, name[k:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], name[0]); !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return true
}

// cleanChanged cleans a changed path; ok is false for one that is not inside the repository.
func cleanChanged(p string) (string, bool) {
	if p == "" {
		return "", false
	}
	p = path.Clean(p)
	if outside(p) {
		return "", false
	}
	return p, true
}
