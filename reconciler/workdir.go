package reconciler

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
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

// skipDirs returns the directories among stackDirs (every stack's directory of the revision) that
// stack s's workdir leaves out. A stack's workdir holds the repository without the other stacks'
// directories: with 2,000 stacks it holds its own and the shared files, not 2,000 stacks' files
// (written, and checked on every run, once per stack). That is what a stack may depend on anyway: a
// change in another stack's directory never affects it (the nearest stack or module directory owns
// a changed path). Another stack's directory stays when it holds one of s's own directories (its
// dir, its module dirs, or any of their parents), one of its var files, or a path its
// when_modified patterns may match.
func skipDirs(stackDirs []string, s Stack) []string {
	var own, globs []string
	own = append(own, path.Clean(s.Dir))
	for _, d := range s.ModuleDirs {
		own = append(own, path.Clean(d))
	}
	for _, v := range s.VarFiles {
		own = append(own, path.Join(s.Dir, v))
	}
	for _, g := range s.WhenModified {
		globs = append(globs, literalPrefix(path.Join(s.Dir, g)))
	}
	var skip []string
	for _, d := range stackDirs {
		d = path.Clean(d)
		keep := d == "."
		for _, o := range own {
			keep = keep || within(o, d)
		}
		for _, g := range globs {
			keep = keep || within(g, d) || within(d, g)
		}
		if !keep {
			skip = append(skip, d)
		}
	}
	return skip
}

// within reports whether the slash-separated path p is dir or below it.
func within(p, dir string) bool {
	return dir == "." || p == dir || strings.HasPrefix(p, dir+"/")
}

// literalPrefix is the directory part of a glob before its first segment with a wildcard.
func literalPrefix(glob string) string {
	var lit []string
	for _, seg := range strings.Split(glob, "/") {
		if strings.ContainsAny(seg, `*?[\`) {
			break
		}
		lit = append(lit, seg)
	}
	if len(lit) == 0 {
		return "."
	}
	return path.Join(lit...)
}
