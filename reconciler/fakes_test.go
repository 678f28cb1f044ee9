package reconciler_test

import (
	"context"
	"io/fs"
	"maps"
	"path"
	"sort"
	"strings"
	"sync"
	"testing/fstest"

	. "github.com/trueup/trueup/reconciler"
)

// fakeSource is an in-memory repository: each revision is a MapFS.
type fakeSource struct {
	mu       sync.Mutex
	head     Revision
	trees    map[Revision]fstest.MapFS
	PollFunc func(ctx context.Context) (Heads, error)
}

var _ Source = (*fakeSource)(nil)

func newFakeSource() *fakeSource { return &fakeSource{trees: map[Revision]fstest.MapFS{}} }

// commit records files as revision rev and makes it main's head.
func (s *fakeSource) commit(rev Revision, files map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := fstest.MapFS{}
	for p, c := range files {
		m[p] = &fstest.MapFile{Data: []byte(c)}
	}
	s.trees[rev] = m
	s.head = rev
}

func (s *fakeSource) Poll(ctx context.Context) (Heads, error) {
	if s.PollFunc != nil {
		return s.PollFunc(ctx)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return Heads{Branches: map[string]Revision{"main": s.head}}, nil
}

func (s *fakeSource) Changed(ctx context.Context, from, to Revision) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, b := s.trees[from], s.trees[to]
	var out []string
	for p, f := range b {
		if g, ok := a[p]; !ok || string(g.Data) != string(f.Data) {
			out = append(out, p)
		}
	}
	for p := range a {
		if _, ok := b[p]; !ok {
			out = append(out, p)
		}
	}
	return out, nil
}

func (s *fakeSource) Tree(ctx context.Context, rev Revision) (fs.FS, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.trees[rev]), nil
}

func (s *fakeSource) Checkout(ctx context.Context, rev Revision, dir string, skip ...string) error {
	return nil
}

func (s *fakeSource) MergeBase(ctx context.Context, a, b Revision) (Revision, error) {
	return "", ErrNotFound
}

// fakeRunner plans and applies through funcs; the defaults plan one create and apply it.
type fakeRunner struct {
	PlanFunc  func(ctx context.Context, spec RunSpec) (*Plan, error)
	ApplyFunc func(ctx context.Context, spec RunSpec, plan *Plan) (*ApplyResult, error)
}

var _ Runner = (*fakeRunner)(nil)

func (r *fakeRunner) Plan(ctx context.Context, spec RunSpec) (*Plan, error) {
	if r.PlanFunc != nil {
		return r.PlanFunc(ctx, spec)
	}
	return &Plan{Complete: true, Changes: []ResourceChange{{Address: "local_file.a", Action: ActionCreate}}}, nil
}

func (r *fakeRunner) Apply(ctx context.Context, spec RunSpec, plan *Plan) (*ApplyResult, error) {
	if r.ApplyFunc != nil {
		return r.ApplyFunc(ctx, spec, plan)
	}
	return &ApplyResult{}, nil
}

// dirLayout makes every directory holding main.tf a stack; a path affects the stack whose dir holds it.
func dirLayout(fsys fs.FS) (*Layout, error) {
	var stacks []Stack
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && path.Base(p) == "main.tf" {
			dir := path.Dir(p)
			stacks = append(stacks, Stack{Name: dir, Dir: dir, Workspace: "default"})
		}
		return err
	})
	sort.Slice(stacks, func(i, j int) bool { return stacks[i].Name < stacks[j].Name })
	return &Layout{Stacks: stacks, Affects: func(s Stack, changed []string) bool {
		for _, c := range changed {
			if strings.HasPrefix(c, s.Dir+"/") {
				return true
			}
		}
		return false
	}}, err
}
