package reconciler

import (
	"context"
	"errors"
	"time"
)

// The applied branch's worker: for one stack on main it observes (the store, what changed), decides
// (Decide) and hands the step to its owner: apply.go applies, drift.go checks drift.

// reconcileMain observes one stack on main, decides, and hands the step to its owner.
func (r *Reconciler) reconcileMain(ctx context.Context, k Key) {
	r.mu.Lock()
	head, layout := r.head, r.layout
	r.mu.Unlock()
	if head == "" || layout == nil {
		return
	}
	snap, stack, ok := r.observeStack(ctx, k, head, layout)
	if !ok {
		return
	}
	d := Decide(snap)
	r.log.Debug("decided", "stack", k.Stack, "step", d.Step.String(), "why", d.Why, "rev", head.Short())
	st := snap.State
	switch d.Step {
	case StepNone:
		if snap.DriftDue && st.SyncedRev != head {
			// The pending apply converges the stack; the drift check waits for the next interval.
			r.drift.clearDue(k.Stack)
		}
	case StepRemove:
		st.Removed = true
		r.save(ctx, st, stackRemovedEvent(st.Name, head, r.opts.Now()))
	case StepMarkSynced:
		st.SyncedRev = head
		r.save(ctx, st)
	case StepRetryLater:
		r.queue.AddAfter(k, d.At.Sub(r.opts.Now()))
	case StepApply:
		r.drift.clearDue(k.Stack)
		r.applyHead(ctx, r.spec(stack, head, r.opts.Branch, layout.stackDirs()), st)
	case StepDriftCheck:
		r.driftCheck(ctx, r.spec(stack, head, r.opts.Branch, layout.stackDirs()), st, snap.Policy)
	}
}

// observeStack gathers what Decide needs for one stack on main at head: its state (with a waiting
// approval recorded), whether the move from its synced revision affects it, the drift schedule.
// ok is false when the state could not be read; the stack is then retried in 30 s.
func (r *Reconciler) observeStack(ctx context.Context, k Key, head Revision, layout *Layout) (Snapshot, Stack, bool) {
	log := r.log.With("stack", k.Stack)
	st, err := r.store.Stack(ctx, k.Stack)
	known := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		log.Error("read stack state; retrying in 30s", "err", err)
		r.queue.AddAfter(k, 30*time.Second)
		return Snapshot{}, Stack{}, false
	}
	stack, inLayout := layout.Stack(k.Stack)
	if !known {
		st = StackState{Name: stack.Name, Dir: stack.Dir, Workspace: stack.Workspace}
	}
	if inLayout {
		st.Dir, st.Workspace, st.Removed = stack.Dir, stack.Workspace, false
	}
	st = r.applyApproval(ctx, st)
	affected := false
	if inLayout && st.SyncedRev != "" && st.SyncedRev != head {
		changed, err := r.changedPaths(ctx, st.SyncedRev, head)
		if err != nil {
			// Not knowing what changed must not skip a change: plan it.
			log.Warn("cannot diff revisions; planning the stack to be safe", "from", st.SyncedRev.Short(), "to", head.Short(), "err", err)
			affected = true
		} else {
			affected = layout.Affects(stack, changed)
		}
	}
	return Snapshot{
		Now: r.opts.Now(), Head: head, InLayout: inLayout, Known: known, State: st, Affected: affected,
		DriftDue: r.drift.isDue(k.Stack), Forced: r.drift.takeForced(k.Stack), Policy: stack.Drift.Apply(r.opts.Drift),
	}, stack, true
}
