// Package layout answers three questions about an infrastructure repository at one revision:
// which stacks it has, which local modules each stack calls (transitively), and which stacks a
// set of changed paths affects. It reads an io/fs.FS and nothing else, so it is pure and fast.
//
// Stacks come from .trueup.yaml at the root when it exists (decoded strictly), or else are
// discovered: every directory holding .tf or .tf.json files that no other directory calls as a
// local module is a stack in the default workspace. Hidden directories are skipped.
//
// Symbolic links are resolved component by component through fs.ReadLinkFS when the FS has it;
// a link that leads out of the repository is refused (an error for a configured dir or var
// file, a warning for a module call). On an FS without ReadLinkFS, paths are taken as they are.
package layout

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strings"

	"github.com/trueup/trueup/reconciler"
)

// Layout is the stacks of one revision of the repository. It is read-only once built and safe
// for concurrent use; do not modify Stacks.
type Layout struct {
	// Stacks are sorted by Name, with ModuleDirs filled, OnApply as .trueup.yaml sets it, and AWS
	// as .trueup.yaml sets it merged with Options.AWSDefaults.
	Stacks []reconciler.Stack
	// Configured is true when .trueup.yaml listed the stacks, false when they were discovered.
	Configured bool
	// Warnings are problems that did not stop loading: invalid HCL (the stack is still a stack;
	// Terraform reports the error when it runs), a module call that leaves the repository or
	// names a missing directory. Sorted.
	Warnings []string

	byName map[string]int
	watch  []watchSet // parallel to Stacks
	// roots maps each stack dir and module dir (as written and as resolved) to the stacks it
	// belongs to. A changed path belongs to its nearest enclosing root.
	roots map[string][]int
}

// Options are what the daemon adds to what the repository says.
type Options struct {
	// AWSDefaults (trueup.yaml's aws: section) fill the aws settings a stack's .trueup.yaml entry
	// leaves unset; a stack without an aws entry, or a discovered one, gets them as they are.
	AWSDefaults reconciler.StackAWS
	// Cache, when set, keeps parsed directories across loads (Loader makes one when it is nil).
	Cache *ModuleCache
}

// Load is LoadWith without defaults: each stack's AWS is what .trueup.yaml says, zero when it says nothing.
func Load(fsys fs.FS) (*Layout, error) { return LoadWith(fsys, Options{}) }

// Loader is LoadWith as the reconciler's LayoutLoader.
func Loader(opts Options) reconciler.LayoutLoader {
	if opts.Cache == nil {
		opts.Cache = &ModuleCache{}
	}
	return func(fsys fs.FS) (*reconciler.Layout, error) {
		l, err := LoadWith(fsys, opts)
		if err != nil {
			return nil, err
		}
		return &reconciler.Layout{Stacks: slices.Clone(l.Stacks), Affects: l.AffectedStack, Warnings: l.Warnings}, nil
	}
}

// LoadWith reads the repository's stacks: from .trueup.yaml when present, else by discovery.
// A .trueup.yaml that does not decode or validate is an error listing every problem, each as
// ".trueup.yaml:<line>: stacks[<i>].<key>: <problem>" (use errors.Join's Unwrap() []error to
// print them one per line).
func LoadWith(fsys fs.FS, opts Options) (*Layout, error) {
	res := newResolver(fsys)
	g := newGraph(fsys, res, opts.Cache)
	var (
		stacks     []reconciler.Stack
		realDirs   = map[string]string{} // stack name -> real dir
		configured *configured
	)
	data, err := readConfig(fsys, res)
	var skipped []string // directories discovery refused, as warnings
	switch {
	case err == nil:
		p, err := parseConfig(data)
		if err != nil {
			return nil, err
		}
		configured, err = validate(p, fsys, res)
		if err != nil {
			return nil, err
		}
		stacks = configured.stacks
		realDirs = configured.realDir
	case errors.Is(err, fs.ErrNotExist):
		dirs, err := discover(fsys, g)
		if err != nil {
			return nil, fmt.Errorf("discover stacks: %w", err)
		}
		for _, dir := range dirs {
			if !printableName(dir) {
				// A branch could name a directory "x\n/approve": its name would be a line of its own
				// in plan comments, where a forge may run it as a command.
				skipped = append(skipped, fmt.Sprintf("directory %q is not a stack: its name holds control characters or is not UTF-8", dir))
				continue
			}
			name := reconciler.StackName(dir, "default")
			stacks = append(stacks, reconciler.Stack{Name: name, Dir: dir, Workspace: "default"})
			realDirs[name] = dir
		}
	default:
		return nil, err
	}

	extra := map[string][]string{} // stack name -> more roots (paths through symlinks)
	closures := map[string]modulePaths{}
	for i := range stacks {
		s := &stacks[i]
		s.AWS = s.AWS.Merge(opts.AWSDefaults)
		real := realDirs[s.Name]
		mp, ok := closures[real]
		if !ok {
			mp = g.closure(real)
			closures[real] = mp
		}
		s.ModuleDirs = slices.Clone(mp.real)
		extra[s.Name] = slices.Clone(mp.extra)
		if real != s.Dir {
			extra[s.Name] = append(extra[s.Name], real)
		}
	}
	l, err := build(stacks, extra)
	if err != nil {
		return nil, err
	}
	l.Warnings = append(g.sortedWarnings(), skipped...)
	l.Configured = configured != nil
	return l, nil
}

// readConfig reads .trueup.yaml, refusing one that is a link out of the repository.
// A missing file is an error wrapping fs.ErrNotExist.
func readConfig(fsys fs.FS, res *resolver) ([]byte, error) {
	real, err := res.resolve(ConfigFile)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		return nil, fmt.Errorf("read %s: %w", ConfigFile, err)
	}
	data, err := fs.ReadFile(fsys, real)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", ConfigFile, err)
	}
	return data, nil
}

// New builds a Layout from stacks that are already known (Dir, Workspace, ModuleDirs,
// WhenModified and VarFiles set; Name is recomputed). It touches no file system, so it cannot
// see symlinks; it checks the when_modified patterns.
func New(stacks []reconciler.Stack) (*Layout, error) {
	stacks = slices.Clone(stacks)
	for i := range stacks {
		stacks[i].Name = reconciler.StackName(stacks[i].Dir, stacks[i].Workspace)
	}
	return build(stacks, nil)
}

func build(stacks []reconciler.Stack, extra map[string][]string) (*Layout, error) {
	sort.SliceStable(stacks, func(i, j int) bool { return stacks[i].Name < stacks[j].Name })
	l := &Layout{
		Stacks: stacks,
		byName: make(map[string]int, len(stacks)),
		watch:  make([]watchSet, len(stacks)),
		roots:  map[string][]int{},
	}
	var errs []error
	for i, s := range stacks {
		if _, dup := l.byName[s.Name]; dup {
			errs = append(errs, fmt.Errorf("stack %s: listed twice", s.Name))
		}
		l.byName[s.Name] = i
		w, err := newWatchSet(s, extra[s.Name])
		if err != nil {
			errs = append(errs, err)
		}
		l.watch[i] = w
		for r := range w.roots {
			if !slices.Contains(l.roots[r], i) {
				l.roots[r] = append(l.roots[r], i)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return l, nil
}

// Stack returns the stack with the given name.
func (l *Layout) Stack(name string) (reconciler.Stack, bool) {
	i, ok := l.byName[name]
	if !ok {
		return reconciler.Stack{}, false
	}
	return l.Stacks[i], true
}

// Names returns the stack names, sorted.
func (l *Layout) Names() []string {
	names := make([]string, len(l.Stacks))
	for i, s := range l.Stacks {
		names[i] = s.Name
	}
	return names
}

// ModuleGraph maps each stack's name to the repository directories of the local modules it
// calls, directly or transitively, sorted.
func (l *Layout) ModuleGraph() map[string][]string {
	m := make(map[string][]string, len(l.Stacks))
	for _, s := range l.Stacks {
		m[s.Name] = slices.Clone(s.ModuleDirs)
	}
	return m
}

// String describes the layout for people (trueup validate): one line per stack, its module
// directories indented below it, then the warnings.
func (l *Layout) String() string {
	var b strings.Builder
	source := "discovered"
	if l.Configured {
		source = "from " + ConfigFile
	}
	fmt.Fprintf(&b, "%d stacks (%s)\n", len(l.Stacks), source)
	for _, s := range l.Stacks {
		fmt.Fprintf(&b, "%s\n", s.Name)
		for _, m := range s.ModuleDirs {
			fmt.Fprintf(&b, "  module %s\n", m)
		}
		for _, g := range s.WhenModified {
			fmt.Fprintf(&b, "  when_modified %s\n", g)
		}
		for _, v := range s.VarFiles {
			fmt.Fprintf(&b, "  var_file %s\n", v)
		}
	}
	for _, w := range l.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", w)
	}
	return b.String()
}
