package reconciler

import (
	"context"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// planner owns branch and pull request planning: which targets (branches and open pull requests)
// are followed, the stacks each plans (as its layout defines them), the per-target publish locks,
// planning one stack on a target, the living comment and commit statuses, the merges it sees, and
// the comparison of a merge's plan with the reviewed one at apply time. It holds none of main's state: it asks main for
// its head and layout, and runs through the shared run helpers.
type planner struct {
	branch     string // the applied branch: never a target
	allowForks bool
	dataDir    string
	defaultAWS StackAWS
	src        Source
	store      Store
	forge      Forge // New gives a no-op one when there is no code host
	queue      *Queue[Key]
	log        *slog.Logger
	now        func() time.Time
	main       func() (Revision, *Layout) // main's loaded head and its layout ("" and nil before one loads)
	loadLayout func(ctx context.Context, rev Revision) (*Layout, error)
	runs       runHelpers

	mu      sync.Mutex
	targets map[string]*target
	// stacks are the stacks each target plans, as the target's layout defines them: only those,
	// since a layout of every stack for each of hundreds of pull requests would hold megabytes each.
	stacks map[string]targetStacks
	// lastDirs is the stack dirs of the target followed last: targets with the same stacks (pull
	// requests from one main) share one slice of them.
	lastDirs []string
	// publishLocks serialise the comment and the plan-record rewrites of one branch or pull request.
	publishLocks keyedLocks
	// publishing coalesces the comment writes of one pull request (publish).
	publishing coalesced
	// replans are stacks to plan again at a head already planned (replan.go).
	replans replanSet
	// stale are pull request plans main moved under, until planned again (stale.go).
	stale staleSet
	// pullRef is how the forge refers to a pull request ("!12" on GitLab); nil is "#12".
	pullRef func(int) string
}

// runHelpers are the run helpers the planner shares with apply and drift (runs.go).
type runHelpers interface {
	spec(s Stack, rev Revision, target string, stackDirs []string) RunSpec
	startRun(ctx context.Context, stack, branch string, kind RunKind, rev Revision) (RunRecord, bool)
	finishRun(ctx context.Context, run RunRecord)
	planFor(ctx context.Context, spec RunSpec, purpose RunPurpose, branch string, pr int) (*Plan, error)
}

var _ runHelpers = (*Reconciler)(nil)

// plannerDeps is what a planner is made from; everything is required.
type plannerDeps struct {
	Branch     string
	AllowForks bool
	DataDir    string
	DefaultAWS StackAWS
	Source     Source
	Store      Store
	Forge      Forge
	Queue      *Queue[Key]
	Log        *slog.Logger
	Now        func() time.Time
	Main       func() (Revision, *Layout)
	LoadLayout func(ctx context.Context, rev Revision) (*Layout, error)
	Runs       runHelpers
}

func newPlanner(d plannerDeps) *planner {
	return &planner{
		branch: d.Branch, allowForks: d.AllowForks, dataDir: d.DataDir, defaultAWS: d.DefaultAWS,
		src: d.Source, store: d.Store, forge: d.Forge, queue: d.Queue, log: d.Log, now: d.Now,
		main: d.Main, loadLayout: d.LoadLayout, runs: d.Runs,
		targets: map[string]*target{},
		stacks:  map[string]targetStacks{},
	}
}

// observeTargets plans branches and open pull requests whose heads moved, and drops those that are
// gone.
func (p *planner) observeTargets(ctx context.Context, heads Heads, pulls []PullRequest) {
	targets, waiting := p.wantedTargets(heads, pulls)
	p.mu.Lock()
	var gone []string
	for name := range p.targets {
		if _, ok := targets[name]; !ok && !waiting[name] {
			gone = append(gone, name)
		}
	}
	var moved []target
	for name, t := range targets {
		if old, ok := p.targets[name]; ok && old.Head == t.Head {
			continue
		}
		moved = append(moved, t)
	}
	p.mu.Unlock()

	for _, name := range gone {
		p.dropTarget(ctx, name, true)
	}
	mainHead, _ := p.main()
	if mainHead == "" {
		return // plans are judged against main: wait until its layout is loaded
	}
	p.noticeMainMove(ctx, mainHead)
	slices.SortFunc(moved, func(a, b target) int { return strings.Compare(a.Name, b.Name) })
	for _, t := range moved {
		p.startTarget(ctx, t, mainHead)
	}
}

// wantedTargets are the targets the polled heads and open pull requests ask for, and the open pull
// requests whose new head is not fetched yet (they keep their plans until it is).
func (p *planner) wantedTargets(heads Heads, pulls []PullRequest) (targets map[string]target, waiting map[string]bool) {
	targets, waiting = map[string]target{}, map[string]bool{}
	prBranches := map[string]bool{}
	for _, pr := range pulls {
		if !pr.Fork {
			prBranches[pr.HeadBranch] = true
		}
		if !headFetched(heads, pr) {
			// The forge can announce a head before git serves it: planning it now would fail to read
			// it and never retry. The next poll has it; until then the pull request keeps its plans.
			waiting[pullTarget(pr.Number)] = true
			continue
		}
		pr := pr
		targets[pullTarget(pr.Number)] = target{Name: pullTarget(pr.Number), Head: pr.Head, Pull: &pr}
	}
	for branch, rev := range heads.Branches {
		if branch == p.branch || prBranches[branch] {
			continue
		}
		targets[branch] = target{Name: branch, Head: rev}
	}
	return targets, waiting
}

// startTarget works out which stacks a branch or pull request affects and queues their plans.
func (p *planner) startTarget(ctx context.Context, t target, mainHead Revision) {
	log := p.log.With("target", t.Name, "rev", t.Head.Short())
	if t.Pull != nil {
		if err := p.store.PutPull(ctx, *t.Pull); err != nil {
			log.Error("record pull request", "err", err)
		}
		if t.Pull.Fork && !p.allowForks {
			p.follow(t, targetStacks{})
			log.Info("pull request from a fork: not planned (allow_forks is false)", "pr", t.Pull.Number)
			p.publish(ctx, t.Name)
			return
		}
	}
	p.follow(t, p.affectedStacks(ctx, &t, mainHead, log))
	for _, s := range t.Stacks {
		// A stack already planned at this head (trueup restarted) keeps the status its plan set:
		// "pending" would stay until the next push, as the plan is not run again.
		if !p.plannedAt(ctx, t, s) {
			p.setStatus(ctx, t.Head, s, StatusPending, "planning")
		}
		p.queue.Add(Key{Stack: s, Branch: t.Name})
	}
	log.Info("branch moved", "stacks", len(t.Stacks))
	if t.Pull != nil {
		p.publish(ctx, t.Name)
	}
}

// targetStacks are the stacks a target plans, and the directories of every stack of its layout
// (what their checkouts leave out: skipDirs).
type targetStacks struct {
	planned []Stack
	dirs    []string
}

// affectedStacks reads t's layout and returns the stacks its change from the merge base with main
// affects (every stack when it cannot diff), with their names in t.Stacks, or sets t.Error when the
// layout cannot be read.
func (p *planner) affectedStacks(ctx context.Context, t *target, mainHead Revision, log *slog.Logger) targetStacks {
	base, err := p.src.MergeBase(ctx, mainHead, t.Head)
	var changed []string
	if err == nil {
		changed, err = p.src.Changed(ctx, base, t.Head)
	}
	if err != nil {
		log.Warn("cannot diff against main; planning every stack", "err", err)
		changed = nil
	}
	layout, lerr := p.loadLayout(ctx, t.Head)
	if lerr != nil {
		t.Error = lerr.Error()
		log.Error("cannot read the stacks on this branch", "err", lerr)
		return targetStacks{}
	}
	var stacks []Stack
	for _, s := range layout.Stacks {
		if err != nil || layout.Affects(s, changed) {
			t.Stacks = append(t.Stacks, s.Name)
			stacks = append(stacks, s)
		}
	}
	if len(stacks) == 0 {
		return targetStacks{}
	}
	return targetStacks{planned: stacks, dirs: layout.stackDirs()}
}

// follow records t, which plans stacks, as followed.
func (p *planner) follow(t target, stacks targetStacks) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.targets[t.Name] = &t
	if len(stacks.planned) > 0 {
		if slices.Equal(stacks.dirs, p.lastDirs) {
			stacks.dirs = p.lastDirs
		}
		p.lastDirs = stacks.dirs
		p.stacks[t.Name] = stacks
	} else {
		delete(p.stacks, t.Name)
	}
}

// followed returns the target named name and the stacks it plans.
func (p *planner) followed(name string) (target, targetStacks, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	tp, ok := p.targets[name]
	if !ok {
		return target{}, targetStacks{}, false
	}
	return *tp, p.stacks[name], true
}

// targetGone reports whether a branch or pull request is no longer followed.
func (p *planner) targetGone(name string) bool {
	_, _, ok := p.followed(name)
	return !ok
}

// dropTarget forgets a branch or pull request and removes its workdirs and plan files. The plans of a
// merged pull request are kept (without their rendering) for the comparison at apply time.
func (p *planner) dropTarget(ctx context.Context, name string, dropPlans bool) {
	p.mu.Lock()
	delete(p.targets, name)
	delete(p.stacks, name)
	p.mu.Unlock()
	p.replans.forget(name)
	p.stale.forget(name)
	p.removeWorkdirs(name)
	// The plan records of a pull request are rewritten under its lock, so that stripping them here
	// cannot undo an apply result that recordMergeResult is writing at the same time.
	defer p.publishLocks.lock(name)()
	if dropPlans {
		if err := p.store.DeleteBranchPlans(ctx, name); err != nil {
			p.log.Error("delete plans", "target", name, "err", err)
			return // a pull request stays recorded, so the next poll cleans it up again
		}
	} else if !p.stripRenderings(ctx, name) {
		return
	}
	if n, ok := pullNumber(name); ok {
		if err := p.store.DeletePull(ctx, n); err != nil {
			p.log.Error("forget pull request", "pr", n, "err", err)
		}
	}
	p.log.Debug("target cleaned up", "target", name)
}

// stripRenderings drops the plan texts of a merged target's plans, keeping what the comparison at
// apply time needs. It returns false when the plans could not be read.
func (p *planner) stripRenderings(ctx context.Context, name string) bool {
	plans, err := p.store.BranchPlans(ctx, name)
	if err != nil {
		p.log.Error("read plans", "err", err)
		return false
	}
	for _, bp := range plans {
		if bp.Rendered != "" {
			bp.Rendered = ""
			p.putPlan(ctx, bp)
		}
	}
	return true
}

// removeWorkdirs removes a branch or pull request's checkouts and Terraform data dirs.
func (p *planner) removeWorkdirs(name string) {
	for _, dir := range []string{"work", "tfdata"} {
		if err := removeTree(filepath.Join(p.dataDir, dir, Slug(name))); err != nil {
			p.log.Warn("clean up workdir", "target", name, "err", err)
		}
	}
}

// liveEntries is how many targets, stacks of targets and publish locks the planner holds.
func (p *planner) liveEntries() (targets, stacks, locks int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ts := range p.stacks {
		stacks += len(ts.planned)
	}
	return len(p.targets), stacks, p.publishLocks.len() + p.publishing.len()
}
