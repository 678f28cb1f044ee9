package reconciler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ErrConflict is returned when a request does not fit the stack's state (approving what is not held).
var ErrConflict = errors.New("conflict")

// StackStatus is one stack as the API and `trueup status` show it.
type StackStatus struct {
	Name       string     `json:"name"`
	Dir        string     `json:"dir"`
	Workspace  string     `json:"workspace"`
	AppliedRev Revision   `json:"applied_revision,omitempty"`
	SyncedRev  Revision   `json:"synced_revision,omitempty"`
	LastRun    *RunRecord `json:"last_run,omitempty"`
	Drift      DriftState `json:"drift"`
	Held       *Hold      `json:"held,omitempty"`
	// Pending is true when work for the stack is queued or scheduled.
	Pending bool `json:"pending"`
	// Running is true while a worker runs Terraform for the stack.
	Running bool `json:"running"`
	// Removed is true when the stack left the repository (nothing was destroyed).
	Removed bool `json:"removed,omitempty"`
	// InRepository is false for stacks known from the store but absent at main's head.
	InRepository bool `json:"in_repository"`
	// Hook is the outcome of the last on_apply hooks.
	Hook *HookResult `json:"hook,omitempty"`
}

// Health is what readiness depends on.
type Health struct {
	LastPoll  time.Time
	PollError error
	Head      Revision
	LayoutErr error
	// Standby is true on a replica that stands by for the leader: it does not poll, so it is ready
	// while its store answers.
	Standby bool
}

// Health reports the last poll and main's head.
func (r *Reconciler) Health() Health {
	last, err := r.polls.state()
	r.mu.Lock()
	defer r.mu.Unlock()
	return Health{LastPoll: last, PollError: err, Head: r.head, LayoutErr: r.layoutErr}
}

// QueueLen is the number of stacks waiting for a worker.
func (r *Reconciler) QueueLen() int { return r.queue.Len() }

// Stacks returns the status of every stack at main's head and every stack the store remembers, sorted by name.
func (r *Reconciler) Stacks(ctx context.Context) ([]StackStatus, error) {
	states, err := r.store.Stacks(ctx)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	layout := r.layout
	r.mu.Unlock()
	byName := map[string]StackState{}
	for _, st := range states {
		byName[st.Name] = st
	}
	var out []StackStatus
	seen := map[string]bool{}
	if layout != nil {
		for _, s := range layout.Stacks {
			st, ok := byName[s.Name]
			if !ok {
				st = StackState{Name: s.Name}
			}
			st.Dir, st.Workspace = s.Dir, s.Workspace
			out = append(out, r.status(st, true))
			seen[s.Name] = true
		}
	}
	for _, st := range states {
		if !seen[st.Name] {
			out = append(out, r.status(st, false))
		}
	}
	sortByName(out)
	return out, nil
}

// Stack returns one stack's status, or ErrNotFound.
func (r *Reconciler) Stack(ctx context.Context, name string) (StackStatus, error) {
	all, err := r.Stacks(ctx)
	if err != nil {
		return StackStatus{}, err
	}
	for _, s := range all {
		if s.Name == name {
			return s, nil
		}
	}
	return StackStatus{}, fmt.Errorf("stack %q: %w", name, ErrNotFound)
}

func (r *Reconciler) status(st StackState, inRepo bool) StackStatus {
	k := Key{Stack: st.Name, Branch: r.opts.Branch}
	return StackStatus{
		Name: st.Name, Dir: st.Dir, Workspace: st.Workspace, AppliedRev: st.AppliedRev, SyncedRev: st.SyncedRev,
		LastRun: st.LastRun, Drift: st.Drift, Held: st.Held, Removed: st.Removed, InRepository: inRepo,
		Pending: r.queue.Pending(k), Running: r.queue.Processing(k), Hook: st.Hook,
	}
}

func sortByName(s []StackStatus) {
	slices.SortFunc(s, func(a, b StackStatus) int { return strings.Compare(a.Name, b.Name) })
}

// Reconcile asks for the stack to be brought to main now: a pending apply runs (even one that failed at
// this revision), otherwise a drift check runs. It returns ErrNotFound for an unknown stack.
func (r *Reconciler) Reconcile(ctx context.Context, name string) error {
	r.mu.Lock()
	_, inLayout := r.layout.Stack(name)
	loaded := r.head != ""
	r.mu.Unlock()
	if !loaded {
		return fmt.Errorf("main's stacks are not read yet: %w", ErrNotReady)
	}
	if !inLayout {
		return fmt.Errorf("stack %q is not in the repository at main's head: %w", name, ErrNotFound)
	}
	r.drift.force(name)
	r.RequestDriftCheck(name)
	return nil
}

// Approve lets a held apply of stack at rev (a full or abbreviated commit hash) go ahead.
func (r *Reconciler) Approve(ctx context.Context, name string, rev string) (Revision, error) {
	st, err := r.store.Stack(ctx, name)
	if errors.Is(err, ErrNotFound) {
		r.mu.Lock()
		_, inLayout := r.layout.Stack(name)
		r.mu.Unlock()
		if inLayout {
			// A stack of the repository that never ran has no state yet, and nothing held: the API
			// lists it, so "not found" would contradict GET /api/v1/stacks.
			return "", fmt.Errorf("%w: no apply of %s is held", ErrConflict, name)
		}
		return "", fmt.Errorf("stack %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return "", err
	}
	held, err := heldRevision(st, rev)
	if err != nil {
		return "", err
	}
	// The stack's worker records the approval (applyApproval): it is the only writer of the state.
	r.approvals.give(name, held)
	r.log.Info("held apply approved", "stack", name, "rev", held.Short())
	r.queue.Add(Key{Stack: name, Branch: r.opts.Branch})
	return held, nil
}

// heldRevision returns the revision of st's held apply that rev (a full hash or a prefix of at least 7
// digits) names, or an error wrapping ErrConflict when nothing is held or a different revision is.
func heldRevision(st StackState, rev string) (Revision, error) {
	if st.Held == nil {
		return "", fmt.Errorf("%w: no apply of %s is held", ErrConflict, st.Name)
	}
	if len(rev) < 7 || !strings.HasPrefix(string(st.Held.Revision), strings.ToLower(rev)) {
		return "", fmt.Errorf("%w: the held apply of %s is for %s, not %s", ErrConflict, st.Name, st.Held.Revision.Short(), rev)
	}
	return st.Held.Revision, nil
}

// Push is told by a webhook that a branch moved; it only asks for a poll.
func (r *Reconciler) Push(ctx context.Context, branch string, head Revision) { r.Poke() }

// PullRequest is told by a webhook that a pull request changed; it only asks for a poll, which lists
// pull requests and records merges.
func (r *Reconciler) PullRequest(ctx context.Context, action string, pr PullRequest) { r.Poke() }

// StoreOK reports whether the store answers.
func (r *Reconciler) StoreOK(ctx context.Context) error {
	return r.store.Ping(ctx)
}

// PullPlans returns the plans recorded for pull request number, sorted by stack, with their full
// rendering (a pull request comment may show only part of it). ErrNotFound when trueup has
// recorded no plan for it.
func (r *Reconciler) PullPlans(ctx context.Context, number int) ([]BranchPlan, error) {
	return pullPlans(ctx, r.store, number)
}

// pullPlans returns the plans store holds for pull request number, or ErrNotFound when none.
func pullPlans(ctx context.Context, store Store, number int) ([]BranchPlan, error) {
	plans, err := store.BranchPlans(ctx, pullTarget(number))
	if err != nil {
		return nil, err
	}
	if len(plans) == 0 {
		return nil, ErrNotFound
	}
	return plans, nil
}
