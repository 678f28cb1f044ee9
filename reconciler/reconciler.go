package reconciler

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Layout is the set of stacks at one revision of the repository.
type Layout struct {
	Stacks []Stack
	// Affects reports whether changes to the given repository paths affect stack s.
	Affects func(s Stack, changed []string) bool
	// Warnings are problems that did not stop the layout from loading (logged once per revision).
	Warnings []string
}

// Stack returns the named stack.
func (l *Layout) Stack(name string) (Stack, bool) {
	if l == nil {
		return Stack{}, false
	}
	for _, s := range l.Stacks {
		if s.Name == name {
			return s, true
		}
	}
	return Stack{}, false
}

// stackDirs returns the directories of the layout's stacks.
func (l *Layout) stackDirs() []string {
	if l == nil {
		return nil
	}
	dirs := make([]string, len(l.Stacks))
	for i, s := range l.Stacks {
		dirs[i] = s.Dir
	}
	return dirs
}

// LayoutLoader reads the stacks of the repository at one revision.
type LayoutLoader func(fsys fs.FS) (*Layout, error)

// Options configure a Reconciler. Zero values get the documented defaults.
type Options struct {
	// Branch is the branch that is applied (default "main").
	Branch string
	// DataDir holds workdirs, Terraform data dirs and state for stacks without a backend.
	DataDir string
	// Workers bounds concurrent Terraform runs (default 2; trueup run defaults to 4 × CPUs, 4..32).
	// Branch and pull request plans use the workers applies leave free; one branch or pull
	// request never holds all of them (at most all but one).
	Workers int
	// PollInterval is how often the remote is polled (default 30s).
	PollInterval time.Duration
	// ShutdownGrace is how long a running apply may go on after shutdown begins before Terraform is
	// interrupted (default 4m).
	ShutdownGrace time.Duration
	// Drift is the default drift policy; stacks may override it.
	Drift DriftPolicy
	// LoadLayout reads a revision's stacks (required).
	LoadLayout LayoutLoader
	// Alerts delivers events durably: undelivered events wait in the store's outbox. May be nil.
	Alerts Notifier
	// Log receives every event at once, for the log. May be nil.
	Log Notifier
	// Forge is the code host for pull requests, statuses and comments. May be nil (no code host):
	// branches are then still planned, and main is applied as pushed.
	Forge Forge
	// AllowForks plans pull requests from forks (they run the fork's code).
	AllowForks bool
	// Commander reads and answers comment commands (commands.go). May be nil: no commands.
	Commander Commander
	// AllowSelfApprove lets a pull request's author approve its held merge with a comment.
	AllowSelfApprove bool
	// Credentials gives each Terraform run its own cloud credentials. May be nil: runs then get none.
	Credentials Credentials
	// DefaultAWS is the daemon's aws: defaults (trueup.yaml): what a stack that is new on a branch
	// gets for its plans, since a branch's own .trueup.yaml never decides privilege.
	DefaultAWS StackAWS
	// Redact replaces known secrets in a text (default: none). Everything Terraform returns passes
	// through it before it is recorded, logged or shown.
	Redact func(string) string
	// Hooks run after a successful apply on main. May be nil.
	Hooks Hooks
	// Metrics observes runs, polls and deliveries. May be nil.
	Metrics Metrics
	// Logger is the daemon's logger.
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Key identifies one unit of work: a stack on a branch.
type Key struct {
	Stack  string
	Branch string
}

// Reconciler follows the repository and keeps every stack's real world equal to main.
type Reconciler struct {
	opts   Options
	src    Source
	runner Runner
	store  Store
	log    *slog.Logger
	queue  *Queue[Key]

	// The concerns it composes, each with its own lock.
	plans      *planner       // branches and pull requests: their targets, layouts and publish locks
	drift      *driftSchedule // when each stack on main is next checked for drift
	approvals  approvals      // approvals waiting for their stack's worker
	commands   *commands      // comment commands waiting to be answered; nil without a Commander
	polls      pollHealth     // the last polls of the remote
	layouts    layoutCache    // layouts by tree hash
	poke       chan struct{}
	outboxWake chan struct{}
	// legacyState is true from the start of a data dir upgrade until main's stacks are known and
	// their old state directories moved.
	legacyState atomic.Bool

	// mu guards the applied branch's state: the head whose layout is loaded, the last head observed
	// (its layout may have failed to load), and the paths changed between two revisions.
	mu        sync.Mutex
	head      Revision
	seenHead  Revision
	layout    *Layout
	layoutErr error
	changed   map[[2]Revision][]string
}

// New returns a Reconciler. It does nothing until Run.
func New(src Source, runner Runner, store Store, opts Options) (*Reconciler, error) {
	if opts.LoadLayout == nil {
		return nil, errors.New("reconciler: LoadLayout is required")
	}
	if opts.DataDir == "" {
		return nil, errors.New("reconciler: DataDir is required")
	}
	if opts.Branch == "" {
		opts.Branch = "main"
	}
	if opts.Workers <= 0 {
		opts.Workers = 2
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 30 * time.Second
	}
	if opts.ShutdownGrace <= 0 {
		opts.ShutdownGrace = 4 * time.Minute
	}
	if opts.Drift.Remediate == "" {
		opts.Drift.Remediate = RemediateAuto
	}
	if opts.Drift.Interval <= 0 {
		opts.Drift.Interval = 10 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Metrics == nil {
		opts.Metrics = nopMetrics{}
	}
	if opts.Hooks == nil {
		opts.Hooks = nopHooks{}
	}
	if opts.Forge == nil {
		opts.Forge = nopForge{}
	}
	if opts.Credentials == nil {
		opts.Credentials = nopCredentials{}
	}
	if opts.Redact == nil {
		opts.Redact = func(s string) string { return s }
	}
	r := &Reconciler{
		opts:       opts,
		src:        src,
		runner:     runner,
		store:      store,
		log:        opts.Logger,
		queue:      newKeyQueue(opts.Branch, max(1, opts.Workers-1)),
		drift:      newDriftSchedule(),
		changed:    map[[2]Revision][]string{},
		poke:       make(chan struct{}, 1),
		outboxWake: make(chan struct{}, 1),
	}
	r.initPlanner()
	r.initCommands()
	return r, nil
}

// Run polls, plans and applies until ctx ends, then shuts down: it stops taking new work, lets running
// Terraform calls finish within the shutdown grace period, interrupts them after it, and returns nil.
// When ctx's cause is ErrFenced (this replica lost the leader's lease) there is no grace: running
// Terraform calls are interrupted at once, the way a shutdown does it after the grace.
func (r *Reconciler) Run(ctx context.Context) error {
	// Work outlives ctx by the grace period: a half-finished apply is worse than a late exit.
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()

	r.migrateDataDir()
	r.recoverInterrupted(workCtx)

	var workers sync.WaitGroup
	for range r.opts.Workers {
		workers.Go(func() { r.work(workCtx) })
	}
	var background sync.WaitGroup
	background.Go(func() { r.deliverLoop(ctx) })
	background.Go(func() { r.driftLoop(ctx) })
	background.Go(func() { r.commandLoop(ctx) })

	r.pollLoop(ctx)

	r.log.Info("shutting down: no new runs; waiting for running ones", "grace", r.opts.ShutdownGrace)
	r.queue.ShutDown()
	done := make(chan struct{})
	go func() { workers.Wait(); close(done) }()
	grace := r.opts.ShutdownGrace
	if errors.Is(context.Cause(ctx), ErrFenced) {
		// Another replica may lead within the lease's TTL: Terraform is interrupted now, not after a grace.
		r.log.Warn("no longer the leader: interrupting Terraform now")
		grace = 0
	}
	select {
	case <-done:
	case <-time.After(grace):
		if grace > 0 {
			r.log.Warn("shutdown grace period over: interrupting Terraform", "grace", grace)
		}
		cancelWork()
		<-done
	}
	background.Wait()
	r.log.Info("stopped")
	return nil
}

// Poke asks for a poll now (a webhook arrived). It never blocks.
func (r *Reconciler) Poke() {
	select {
	case r.poke <- struct{}{}:
	default:
	}
}

func (r *Reconciler) pollLoop(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-r.poke:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		}
		r.pollOnce(ctx)
		timer.Reset(r.opts.PollInterval)
	}
}

func (r *Reconciler) pollOnce(ctx context.Context) {
	start := time.Now()
	heads, err := r.src.Poll(ctx)
	r.opts.Metrics.Polled(time.Since(start), err)
	prevErr := r.polls.record(err, r.opts.Now())
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		if prevErr == nil || prevErr.Error() != err.Error() {
			r.log.Error("poll failed; will keep trying", "err", err)
		}
		return
	}
	if prevErr != nil {
		r.log.Info("poll recovered")
	}
	pulls, ok := r.plans.observePulls(ctx)
	if !ok {
		return
	}
	head, ok := heads.Branches[r.opts.Branch]
	if !ok {
		if prevErr == nil && r.seenHeadIs("") {
			r.log.Warn("branch not found on the remote", "branch", r.opts.Branch)
		}
		return
	}
	r.observeHead(ctx, head, pulls)
	r.plans.observeTargets(ctx, heads, pulls)
}

func (r *Reconciler) seenHeadIs(rev Revision) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seenHead == rev
}

// observeHead loads the layout of a new main head and queues every stack, so each one decides for
// itself whether it has work.
func (r *Reconciler) observeHead(ctx context.Context, head Revision, open []PullRequest) {
	if r.seenHeadIs(head) {
		return
	}
	r.mu.Lock()
	r.seenHead = head
	r.mu.Unlock()
	r.plans.detectMerges(ctx, head, open)

	layout, err := r.loadLayout(ctx, head)
	if err != nil {
		r.mu.Lock()
		r.layoutErr = err
		r.mu.Unlock()
		r.log.Error("cannot read the repository's stacks at this revision; stacks keep their last applied state until a fixing commit",
			"rev", head.Short(), "err", err)
		return
	}
	for _, w := range layout.Warnings {
		r.log.Warn("layout", "rev", head.Short(), "warning", w)
	}
	r.moveLegacyState(layout)
	r.mu.Lock()
	prev := r.head
	r.head, r.layout, r.layoutErr = head, layout, nil
	clear(r.changed)
	r.mu.Unlock()
	r.log.Info("main moved", "rev", head.Short(), "stacks", len(layout.Stacks))

	names := map[string]bool{}
	for _, s := range r.applyOrder(ctx, layout, prev, head) {
		names[s.Name] = true
		r.queue.Add(Key{Stack: s.Name, Branch: r.opts.Branch})
	}
	known, err := r.store.Stacks(ctx)
	if err != nil {
		r.log.Error("read stacks from the store", "err", err)
		return
	}
	for _, st := range known {
		if !names[st.Name] && !st.Removed {
			r.queue.Add(Key{Stack: st.Name, Branch: r.opts.Branch})
		}
	}
}

// applyOrder returns the layout's stacks, those that the move of main from prev to head changed
// first: every stack is queued so each decides for itself, and the applies a merge is waiting for
// should not queue behind the bookkeeping of every stack it left alone.
func (r *Reconciler) applyOrder(ctx context.Context, layout *Layout, prev, head Revision) []Stack {
	if prev == "" || prev == head || layout.Affects == nil {
		return layout.Stacks
	}
	changed, err := r.changedPaths(ctx, prev, head)
	if err != nil {
		return layout.Stacks // each stack diffs from its own revision, and plans when it cannot
	}
	first := make([]Stack, 0, len(layout.Stacks))
	var rest []Stack
	for _, s := range layout.Stacks {
		if layout.Affects(s, changed) {
			first = append(first, s)
		} else {
			rest = append(rest, s)
		}
	}
	return append(first, rest...)
}

// loadLayout reads the stacks of the repository at rev, once per tree: a tree the Source names by
// its hash (TreeHash) is loaded only the first time it is seen.
func (r *Reconciler) loadLayout(ctx context.Context, rev Revision) (*Layout, error) {
	fsys, err := r.src.Tree(ctx, rev)
	if err != nil {
		return nil, fmt.Errorf("read tree %s: %w", rev.Short(), err)
	}
	return r.layouts.load(fsys, r.opts.LoadLayout)
}

// changedPaths returns the paths changed between two revisions, cached per head.
func (r *Reconciler) changedPaths(ctx context.Context, from, to Revision) ([]string, error) {
	key := [2]Revision{from, to}
	r.mu.Lock()
	paths, ok := r.changed[key]
	r.mu.Unlock()
	if ok {
		return paths, nil
	}
	paths, err := r.src.Changed(ctx, from, to)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.changed[key] = paths
	r.mu.Unlock()
	return paths, nil
}

func (r *Reconciler) work(ctx context.Context) {
	for {
		k, ok := r.queue.Get(ctx)
		if !ok {
			return
		}
		if k.Branch == r.opts.Branch {
			r.reconcileMain(ctx, k)
		} else {
			r.plans.planTarget(ctx, k)
		}
		r.queue.Done(k)
	}
}

// initPlanner makes r's planner from r's options and ports (New calls it).
func (r *Reconciler) initPlanner() {
	r.plans = newPlanner(plannerDeps{
		Branch: r.opts.Branch, AllowForks: r.opts.AllowForks, DataDir: r.opts.DataDir, DefaultAWS: r.opts.DefaultAWS,
		Source: r.src, Store: r.store, Forge: r.opts.Forge, Queue: r.queue, Log: r.log, Now: r.opts.Now,
		Main: r.mainLayout, LoadLayout: r.loadLayout, Runs: r,
	})
}

// mainLayout is main's loaded head and its layout, for the planner.
func (r *Reconciler) mainLayout() (Revision, *Layout) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.head, r.layout
}
