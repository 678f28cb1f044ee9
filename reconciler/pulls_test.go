package reconciler_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	. "github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/boltstore"
)

// dagSource is a fakeSource with history (for MergeBase) and pull request refs, moved by the test.
type dagSource struct {
	*fakeSource
	mu        sync.Mutex
	parents   map[Revision][]Revision
	unfetched map[Revision]fstest.MapFS
	heads     Heads
}

func newDAGSource() *dagSource {
	return &dagSource{fakeSource: newFakeSource(), parents: map[Revision][]Revision{}, unfetched: map[Revision]fstest.MapFS{},
		heads: Heads{Branches: map[string]Revision{}, Pulls: map[int]Revision{}}}
}

// add records commit rev with its parents and files, moving no ref. Like a commit on the remote, it
// can be read only once a ref points at it (set), as a mirror fetches it.
func (s *dagSource) add(rev Revision, files map[string]string, parents ...Revision) Revision {
	m := fstest.MapFS{}
	for p, c := range files {
		m[p] = &fstest.MapFile{Data: []byte(c)}
	}
	s.mu.Lock()
	s.parents[rev] = parents
	s.unfetched[rev] = m
	s.mu.Unlock()
	return rev
}

// fetch makes rev readable.
func (s *dagSource) fetch(rev Revision) {
	s.mu.Lock()
	m, ok := s.unfetched[rev]
	delete(s.unfetched, rev)
	s.mu.Unlock()
	if ok {
		s.fakeSource.mu.Lock()
		s.trees[rev] = m
		s.fakeSource.mu.Unlock()
	}
}

func (s *dagSource) Tree(ctx context.Context, rev Revision) (fs.FS, error) {
	s.fakeSource.mu.Lock()
	_, ok := s.trees[rev]
	s.fakeSource.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("object %s: %w", rev, ErrNotFound)
	}
	return s.fakeSource.Tree(ctx, rev)
}

// set moves refs: branch names, or "pull/N" for refs/pull/N/head.
func (s *dagSource) set(refs map[string]Revision) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, rev := range refs {
		s.mu.Unlock()
		s.fetch(rev)
		s.mu.Lock()
		if num, ok := strings.CutPrefix(name, "pull/"); ok {
			n, _ := strconv.Atoi(num)
			s.heads.Pulls[n] = rev
		} else {
			s.heads.Branches[name] = rev
		}
	}
}

func (s *dagSource) Poll(ctx context.Context) (Heads, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Heads{Branches: maps.Clone(s.heads.Branches), Pulls: maps.Clone(s.heads.Pulls)}, nil
}

func (s *dagSource) ancestors(rev Revision) map[Revision]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[Revision]bool{}
	todo := []Revision{rev}
	for len(todo) > 0 {
		r := todo[0]
		todo = todo[1:]
		if !seen[r] {
			seen[r] = true
			todo = append(todo, s.parents[r]...)
		}
	}
	return seen
}

// MergeBase returns b when a contains it, a when b contains it, else the first common ancestor found.
func (s *dagSource) MergeBase(ctx context.Context, a, b Revision) (Revision, error) {
	ofA := s.ancestors(a)
	if ofA[b] {
		return b, nil
	}
	ofB := s.ancestors(b)
	if ofB[a] {
		return a, nil
	}
	for r := range ofB {
		if ofA[r] {
			return r, nil
		}
	}
	return "", ErrNotFound
}

// fakeForge lists pull requests set by the test and records comments.
type fakeForge struct {
	mu      sync.Mutex
	pulls   map[int]PullRequest
	reports []PullReport
}

var _ Forge = (*fakeForge)(nil)

func (f *fakeForge) put(pr PullRequest) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pulls == nil {
		f.pulls = map[int]PullRequest{}
	}
	f.pulls[pr.Number] = pr
}

func (f *fakeForge) OpenPulls(ctx context.Context, base string) ([]PullRequest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []PullRequest
	for _, pr := range f.pulls {
		if pr.State == "open" {
			out = append(out, pr)
		}
	}
	return out, nil
}

func (f *fakeForge) Pull(ctx context.Context, n int) (PullRequest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	pr, ok := f.pulls[n]
	if !ok {
		return pr, ErrNotFound
	}
	return pr, nil
}

func (f *fakeForge) SetStatus(ctx context.Context, rev Revision, stack string, state StatusState, desc string) error {
	return nil
}

func (f *fakeForge) Comment(ctx context.Context, report PullReport) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reports = append(f.reports, report)
	return nil
}

// pullsHarness is a harness over a dagSource and a fakeForge; the runner records every plan's target
// and revision.
type pullsHarness struct {
	*harness
	dag   *dagSource
	forge *fakeForge
	mu    sync.Mutex
	plans []string // "<target dir>@<rev>"
}

func newPullsHarness(t *testing.T) *pullsHarness {
	dir := t.TempDir()
	store, err := boltstore.Open(filepath.Join(dir, "trueup.db"), boltstore.Options{})
	require.NoError(t, err)
	p := &pullsHarness{dag: newDAGSource(), forge: &fakeForge{}}
	p.harness = &harness{t: t, src: p.dag.fakeSource, runner: &fakeRunner{}, store: store, dir: dir}
	p.runner.PlanFunc = func(ctx context.Context, spec RunSpec) (*Plan, error) {
		rel, _ := filepath.Rel(filepath.Join(dir, "work"), spec.Workdir)
		p.mu.Lock()
		p.plans = append(p.plans, strings.Split(rel, string(filepath.Separator))[0]+"@"+string(spec.Revision))
		p.mu.Unlock()
		return &Plan{Complete: true, Changes: []ResourceChange{{Address: "local_file.a", Action: ActionCreate}}}, nil
	}
	p.rec, err = New(p.dag, p.runner, store, Options{
		DataDir: dir, LoadLayout: dirLayout, PollInterval: 5 * time.Millisecond, Forge: p.forge,
		Drift: DriftPolicy{Interval: time.Hour},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.stop(); _ = store.Close() })
	return p
}

func (p *pullsHarness) planned(entry string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Contains(p.plans, entry)
}

// shown reports whether the plan of stack on target at rev is recorded as a reviewer sees it. A plan
// that has started (planned) may still be discarded, for example when main takes in the pull request
// before the plan finished: nobody saw it, so it cannot be the reviewed plan.
func (p *pullsHarness) shown(target, stack string, rev Revision) bool {
	bp, err := p.store.BranchPlan(context.Background(), target, stack)
	return err == nil && bp.Revision == rev && bp.Result != ResultRunning
}

// startWithPull1 starts the reconciler with main at r1 and pull request #1 open from branch
// "feature" at p1, which changes stacks/a; set the fakes' funcs before.
func (p *pullsHarness) startWithPull1() (r1, p1 Revision) {
	r1 = p.dag.add("r1", pullBase)
	p1 = p.dag.add("p1", withFile(pullBase, "stacks/a/main.tf", "a2"), r1)
	p.dag.set(map[string]Revision{"main": r1, "feature": p1, "pull/1": p1})
	p.forge.put(PullRequest{Number: 1, HeadBranch: "feature", Head: p1, Base: "main", State: "open"})
	p.start()
	return r1, p1
}

func (p *pullsHarness) merge(rev Revision) (int, bool) {
	n, err := p.store.MergeOf(context.Background(), rev)
	return n, err == nil
}

var pullBase = map[string]string{"stacks/a/main.tf": "a1", "stacks/b/main.tf": "b1"}

func withFile(files map[string]string, path, content string) map[string]string {
	out := maps.Clone(files)
	out[path] = content
	return out
}

// The forge can report a pull request's new head before git serves it. trueup waits for the ref
// instead of planning a revision it cannot read, and keeps the plan it has meanwhile.
func TestPullHeadAnnouncedBeforeItIsFetchedIsPlannedOnceFetched(t *testing.T) {
	p := newPullsHarness(t)
	_, p1 := p.startWithPull1()
	eventually(t, "#1 planned at p1", func() bool { return p.shown("pr:1", "stacks/a", p1) })

	// GitHub's API moves first; the ref follows.
	p2 := p.dag.add("p2", withFile(pullBase, "stacks/a/main.tf", "a3"), p1)
	p.forge.put(PullRequest{Number: 1, HeadBranch: "feature", Head: p2, Base: "main", State: "open"})
	time.Sleep(100 * time.Millisecond) // many polls see the API ahead of git
	_, err := p.store.BranchPlan(context.Background(), "pr:1", "stacks/a")
	assert.NoError(t, err, "the plan shown so far is kept while the new head is fetched")
	p.dag.set(map[string]Revision{"feature": p2, "pull/1": p2})
	eventually(t, "#1 planned at p2", func() bool { return p.planned(Slug("pr:1") + "@p2") })
}

// A pull request the forge still lists as open after main took in its head makes that move of main
// its merge, and only that one: a later direct push is not compared with the pull request's plans.
func TestOnlyTheMoveThatBringsInAPullHeadIsItsMerge(t *testing.T) {
	p := newPullsHarness(t)
	r1, p1 := p.startWithPull1()
	eventually(t, "#1 planned", func() bool { return p.shown("pr:1", "stacks/a", p1) })
	eventually(t, "r1 applied", func() bool { return p.state("stacks/b").AppliedRev == r1 })

	m1 := p.dag.add("m1", withFile(pullBase, "stacks/a/main.tf", "a2"), r1, p1)
	p.dag.set(map[string]Revision{"main": m1})
	eventually(t, "m1 applied", func() bool { return p.state("stacks/a").AppliedRev == m1 })
	n, ok := p.merge(m1)
	assert.True(t, ok, "m1 is recorded as the merge of #1")
	assert.Equal(t, 1, n)

	// A direct push to main while the forge still lists #1 as open.
	m2 := p.dag.add("m2", withFile(withFile(pullBase, "stacks/a/main.tf", "a2"), "stacks/b/main.tf", "b2"), m1)
	p.dag.set(map[string]Revision{"main": m2})
	eventually(t, "m2 applied", func() bool { return p.state("stacks/b").AppliedRev == m2 })
	_, ok = p.merge(m2)
	assert.False(t, ok, "a direct push after the merge is not the pull request's merge")
	assert.Nil(t, p.state("stacks/b").Held)
}

// A held merge shows as held, with why, until it is applied.
func TestBranchPlanReportShowsAHoldUntilApplied(t *testing.T) {
	plan := BranchPlan{Stack: "stacks/a", Result: ResultSucceeded, Add: 1}
	assert.Equal(t, ResultSucceeded, plan.Report().Result)
	plan.HeldReason = "the plan at the merge commit differs"
	held := plan.Report()
	assert.Equal(t, ResultHeld, held.Result)
	assert.Equal(t, plan.HeldReason, held.HeldReason)
	plan.HeldReason, plan.Applied = "", &RunRecord{Result: ResultSucceeded}
	assert.Equal(t, ResultSucceeded, plan.Report().Result, "applied after approval")
}

// A pull request closed while its plan runs keeps no plan record and no workdir.
func TestPullClosedWhilePlanningLeavesNothingBehind(t *testing.T) {
	p := newPullsHarness(t)
	planning, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	p.runner.PlanFunc = func(ctx context.Context, spec RunSpec) (*Plan, error) {
		if strings.Contains(spec.Workdir, Slug("pr:1")) {
			once.Do(func() { close(planning) })
			<-release
			// Terraform writes into its dirs after trueup cleaned them up.
			assert.NoError(t, os.MkdirAll(filepath.Join(spec.DataDir, "providers"), 0o755))
		}
		return &Plan{Complete: true, Changes: []ResourceChange{{Address: "local_file.a", Action: ActionCreate}}}, nil
	}
	_, p1 := p.startWithPull1()
	<-planning
	p.forge.put(PullRequest{Number: 1, HeadBranch: "feature", Head: p1, Base: "main", State: "closed"})
	eventually(t, "#1 forgotten", func() bool {
		_, err := p.store.Pull(context.Background(), 1)
		return errors.Is(err, ErrNotFound)
	})
	close(release)
	eventually(t, "the plan run finished", func() bool {
		inflight, err := p.store.InFlight(context.Background())
		return err == nil && len(inflight) == 0
	})
	_, err := p.store.BranchPlan(context.Background(), "pr:1", "stacks/a")
	assert.ErrorIs(t, err, ErrNotFound, "no plan record for a closed pull request")
	assert.NoDirExists(t, filepath.Join(p.dir, "tfdata", Slug("pr:1")))
	assert.NoDirExists(t, filepath.Join(p.dir, "work", Slug("pr:1")))
}
