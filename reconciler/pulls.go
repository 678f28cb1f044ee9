package reconciler

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// target is a branch or pull request head to plan.
type target struct {
	Name   string // "pr:12" for a pull request (no branch can be named so), the branch name otherwise
	Head   Revision
	Pull   *PullRequest
	Stacks []string // the stacks the change affects, judged against the merge base with main
	Error  string   // the layout could not be read at Head
}

// pullTarget is the target name of pull request n. Git refuses ':' in branch names, so no branch
// can take a pull request's place.
func pullTarget(n int) string { return "pr:" + strconv.Itoa(n) }

// pullNumber is the pull request a target name stands for.
func pullNumber(target string) (int, bool) {
	n, ok := strings.CutPrefix(target, "pr:")
	if !ok {
		return 0, false
	}
	num, err := strconv.Atoi(n)
	return num, err == nil
}

// maxStoredRendering caps the plan text kept per stack and target; the rest is cut with a note.
const maxStoredRendering = 1 << 20

// observePulls lists the open pull requests and records the merges of those that closed. It returns
// false when the forge could not answer: main must then wait, so that a merge is never applied as if
// nobody had reviewed it.
func (r *Reconciler) observePulls(ctx context.Context) ([]PullRequest, bool) {
	if r.opts.Forge == nil {
		return nil, true
	}
	pulls, err := r.opts.Forge.OpenPulls(ctx, r.opts.Branch)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Error("list open pull requests; main waits until the forge answers", "err", err)
		}
		return nil, false
	}
	return pulls, r.closeGonePulls(ctx, pulls)
}

// observeTargets plans branches and open pull requests whose heads moved.
func (r *Reconciler) observeTargets(ctx context.Context, heads Heads, pulls []PullRequest) {
	targets := map[string]target{}
	waiting := map[string]bool{} // open pull requests whose new head is not fetched yet
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
		if branch == r.opts.Branch || prBranches[branch] {
			continue
		}
		targets[branch] = target{Name: branch, Head: rev}
	}

	r.mu.Lock()
	var gone []string
	for name := range r.targets {
		if _, ok := targets[name]; !ok && !waiting[name] {
			gone = append(gone, name)
		}
	}
	var moved []target
	for name, t := range targets {
		if old, ok := r.targets[name]; ok && old.Head == t.Head {
			continue
		}
		moved = append(moved, t)
	}
	mainHead := r.head
	r.mu.Unlock()

	for _, name := range gone {
		r.dropTarget(ctx, name, true)
	}
	if mainHead == "" {
		return // plans are judged against main: wait until its layout is loaded
	}
	slices.SortFunc(moved, func(a, b target) int { return strings.Compare(a.Name, b.Name) })
	for _, t := range moved {
		r.startTarget(ctx, t, mainHead)
	}
}

// headFetched reports whether the polled refs hold pr's head: as refs/pull/N/head, or (for a branch of
// the repository itself) as its branch. Without pull refs from the source, the forge is trusted.
func headFetched(heads Heads, pr PullRequest) bool {
	if heads.Pulls == nil {
		return true
	}
	if heads.Pulls[pr.Number] == pr.Head {
		return true
	}
	rev, ok := heads.Branches[pr.HeadBranch]
	return !pr.Fork && ok && rev == pr.Head
}

// closeGonePulls finds the pull requests trueup planned that are no longer open, records merges, and
// cleans up after them. It returns false when the forge could not say what became of one.
func (r *Reconciler) closeGonePulls(ctx context.Context, open []PullRequest) bool {
	known, err := r.store.Pulls(ctx)
	if err != nil {
		r.log.Error("read pull requests from the store", "err", err)
		return false
	}
	isOpen := map[int]bool{}
	for _, pr := range open {
		isOpen[pr.Number] = true
	}
	for _, rec := range known {
		n := rec.Number
		if isOpen[n] {
			continue
		}
		pr, err := r.opts.Forge.Pull(ctx, n)
		if err != nil && !errors.Is(err, ErrNotFound) {
			r.log.Error("look up a closed pull request", "pr", n, "err", err)
			return false
		}
		if err == nil {
			r.pullClosed(ctx, pr)
		} else {
			r.dropTarget(ctx, pullTarget(n), true)
		}
	}
	return true
}

// detectMerges records head as the merge of a pull request that the forge still lists as open but
// whose head main now contains (a merge commit or a fast-forward seen before the forge caught up), so
// its apply is still compared with the reviewed plan.
//
// Only a head that this move brought in counts: a pull request whose head main already contained (the
// forge has not yet caught up with its merge) does not turn later direct pushes into its merges.
func (r *Reconciler) detectMerges(ctx context.Context, head Revision, open []PullRequest) {
	r.mu.Lock()
	prev := r.head // main's previous head: observeHead has not loaded the new one yet
	r.mu.Unlock()
	for _, pr := range open {
		if pr.Fork && !r.opts.AllowForks {
			continue
		}
		base, err := r.src.MergeBase(ctx, head, pr.Head)
		if err != nil || base != pr.Head {
			continue
		}
		if prev != "" && prev != head {
			if base, err := r.src.MergeBase(ctx, prev, pr.Head); err == nil && base == pr.Head {
				continue
			}
		}
		if _, err := r.store.Pull(ctx, pr.Number); err != nil {
			continue // never planned by trueup: nothing was reviewed through it
		}
		if _, known := r.reviewedPull(ctx, head); known {
			continue
		}
		if err := r.store.RecordMerge(ctx, head, pr.Number); err != nil {
			r.log.Error("record merge", "pr", pr.Number, "err", err)
			continue
		}
		r.log.Info("main contains a pull request's head: treating it as merged", "pr", pr.Number, "rev", head.Short())
	}
}

// pullClosed records a merge (so main's apply compares against what was reviewed) and cleans up.
func (r *Reconciler) pullClosed(ctx context.Context, pr PullRequest) {
	if pr.Merged && pr.MergeCommit != "" {
		if err := r.store.RecordMerge(ctx, pr.MergeCommit, pr.Number); err != nil {
			r.log.Error("record merge", "pr", pr.Number, "err", err)
		}
		r.log.Info("pull request merged", "pr", pr.Number, "merge", pr.MergeCommit.Short())
	}
	r.dropTarget(ctx, pullTarget(pr.Number), !pr.Merged)
}

// dropTarget forgets a branch or pull request and removes its workdirs and plan files. The plans of a
// merged pull request are kept (without their rendering) for the comparison at apply time.
func (r *Reconciler) dropTarget(ctx context.Context, name string, dropPlans bool) {
	r.mu.Lock()
	delete(r.targets, name)
	delete(r.targetLayouts, name)
	r.mu.Unlock()
	r.removeWorkdirs(name)
	// The plan records of a pull request are rewritten under its lock, so that stripping them here
	// cannot undo an apply result that recordMergeResult is writing at the same time.
	defer r.publishLocks.lock(name)()
	if dropPlans {
		if err := r.store.DeleteBranchPlans(ctx, name); err != nil {
			r.log.Error("delete plans", "target", name, "err", err)
			return // a pull request stays recorded, so the next poll cleans it up again
		}
	} else {
		plans, err := r.store.BranchPlans(ctx, name)
		if err != nil {
			r.log.Error("read plans", "err", err)
			return
		}
		for _, p := range plans {
			if p.Rendered != "" {
				p.Rendered = ""
				r.putPlan(ctx, p)
			}
		}
	}
	if n, ok := pullNumber(name); ok {
		if err := r.store.DeletePull(ctx, n); err != nil {
			r.log.Error("forget pull request", "pr", n, "err", err)
		}
	}
	r.log.Debug("target cleaned up", "target", name)
}

// removeWorkdirs removes a branch or pull request's checkouts and Terraform data dirs.
func (r *Reconciler) removeWorkdirs(name string) {
	for _, dir := range []string{"work", "tfdata"} {
		if err := removeTree(filepath.Join(r.opts.DataDir, dir, Slug(name))); err != nil {
			r.log.Warn("clean up workdir", "target", name, "err", err)
		}
	}
}

// targetGone reports whether a branch or pull request is no longer followed.
func (r *Reconciler) targetGone(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.targets[name]
	return !ok
}

// startTarget works out which stacks a branch or pull request affects and queues their plans.
func (r *Reconciler) startTarget(ctx context.Context, t target, mainHead Revision) {
	log := r.log.With("target", t.Name, "rev", t.Head.Short())
	if t.Pull != nil {
		if err := r.store.PutPull(ctx, *t.Pull); err != nil {
			log.Error("record pull request", "err", err)
		}
		if t.Pull.Fork && !r.opts.AllowForks {
			r.mu.Lock()
			r.targets[t.Name] = &t
			r.mu.Unlock()
			log.Info("pull request from a fork: not planned (github.allow_forks is false)", "pr", t.Pull.Number)
			r.publish(ctx, t.Name)
			return
		}
	}
	base, err := r.src.MergeBase(ctx, mainHead, t.Head)
	var changed []string
	if err == nil {
		changed, err = r.src.Changed(ctx, base, t.Head)
	}
	if err != nil {
		log.Warn("cannot diff against main; planning every stack", "err", err)
		changed = nil
	}
	layout, lerr := r.loadLayout(ctx, t.Head)
	if lerr != nil {
		t.Error = lerr.Error()
		log.Error("cannot read the stacks on this branch", "err", lerr)
	} else {
		for _, s := range layout.Stacks {
			if err != nil || layout.Affects(s, changed) {
				t.Stacks = append(t.Stacks, s.Name)
			}
		}
	}
	r.mu.Lock()
	r.targets[t.Name] = &t
	r.targetLayouts[t.Name] = layout
	r.mu.Unlock()
	log.Info("branch moved", "stacks", len(t.Stacks))
	for _, s := range t.Stacks {
		r.setStatus(ctx, t.Head, s, StatusPending, "planning")
		r.queue.Add(Key{Stack: s, Branch: t.Name})
	}
	if t.Pull != nil {
		r.publish(ctx, t.Name)
	}
}

// planTarget plans one stack on a branch or pull request, records what a reviewer will see, and
// updates the commit status and the pull request comment.
func (r *Reconciler) planTarget(ctx context.Context, k Key) {
	r.mu.Lock()
	tp, ok := r.targets[k.Branch]
	var t target
	if ok {
		t = *tp
	}
	layout := r.targetLayouts[k.Branch]
	r.mu.Unlock()
	if !ok || !slices.Contains(t.Stacks, k.Stack) {
		return // the branch moved on or closed; its new head queues its own work
	}
	branchStack, ok := layout.Stack(k.Stack)
	if !ok {
		return
	}
	if prev, err := r.store.BranchPlan(ctx, t.Name, k.Stack); err == nil && prev.Revision == t.Head && prev.Result != ResultRunning {
		return // already planned at this head
	}
	stack, notice := r.trustedPrivilege(branchStack)
	spec := r.spec(stack, t.Head, t.Name)
	spec.Render = true
	run := r.startRun(ctx, stack.Name, t.Name, RunPlan, t.Head)
	log := r.log.With("stack", stack.Name, "target", t.Name, "rev", t.Head.Short(), "run", run.ID)
	log.Info("plan started")

	pr, codeBranch := 0, t.Name
	if t.Pull != nil {
		pr, codeBranch = t.Pull.Number, t.Pull.HeadBranch
	}
	plan, err := r.planFor(ctx, spec, PurposePlan, codeBranch, pr)
	now := r.opts.Now()
	run.Finished = now
	if r.targetGone(t.Name) {
		// Closed or merged while planning: a plan nobody was shown must not become the reviewed one,
		// and what Terraform wrote after the cleanup must not stay behind.
		run.Result = ResultInterrupted
		run.Error = "the branch or pull request closed while it was planned"
		// Clean up before the run is recorded finished: a run no longer in flight has left nothing behind.
		r.removeWorkdirs(t.Name)
		r.finishRun(ctx, run)
		log.Info("plan discarded: the branch or pull request closed while it ran")
		return
	}
	bp := BranchPlan{Target: t.Name, Stack: stack.Name, Revision: t.Head, Time: now, Notice: notice}
	switch {
	case err == nil:
		bp.Result = ResultNoChanges
		if plan.HasChanges() {
			bp.Result = ResultSucceeded
		}
		bp.Changes, bp.Rendered = plan.Changes, capText(plan.Rendered, maxStoredRendering)
		bp.Add, bp.Change, bp.Delete = plan.Counts()
		run.Result, run.Changes = bp.Result, plan.Changes
		r.setStatus(ctx, t.Head, stack.Name, StatusSuccess, plan.Summary())
		log.Info("plan finished", "changes", plan.Summary(), "duration", now.Sub(run.Started).Round(time.Millisecond))
	case KindOf(err) == KindCanceled:
		run.Result, run.Error = ResultInterrupted, err.Error()
		r.finishRun(ctx, run)
		return
	default:
		bp.Result, bp.Error = ResultFailed, capText(err.Error(), maxStoredRendering)
		run.Result, run.Error = ResultFailed, err.Error()
		r.setStatus(ctx, t.Head, stack.Name, StatusFailure, firstLine(terraformError(err)))
		log.Warn("plan failed", "err", err)
	}
	r.finishRun(ctx, run)
	r.putPlan(ctx, bp)
	if t.Pull != nil {
		r.publish(ctx, t.Name)
	}
}

// terraformError is the text of err without trueup's operation prefixes, for a status line.
func terraformError(err error) string {
	var e *Error
	for errors.As(err, &e) {
		err = e.Err
	}
	return err.Error()
}

// putPlan records p, even when ctx is done: a plan that ran is shown.
func (r *Reconciler) putPlan(ctx context.Context, p BranchPlan) {
	if err := r.store.PutBranchPlan(context.WithoutCancel(ctx), p); err != nil {
		r.log.Error("record plan", "target", p.Target, "stack", p.Stack, "err", err)
	}
}

func (r *Reconciler) setStatus(ctx context.Context, rev Revision, stack string, state StatusState, desc string) {
	if r.opts.Forge == nil {
		return
	}
	if err := r.opts.Forge.SetStatus(ctx, rev, stack, state, desc); err != nil && ctx.Err() == nil {
		r.log.Warn("set commit status", "stack", stack, "rev", rev.Short(), "err", err)
	}
}

// publish edits the pull request's living comment to show every affected stack's latest result.
// Calls for one pull request are serialised so an older report never overwrites a newer one.
func (r *Reconciler) publish(ctx context.Context, name string) {
	if r.opts.Forge == nil {
		return
	}
	r.mu.Lock()
	tp, ok := r.targets[name]
	var t target
	if ok {
		t = *tp
	}
	r.mu.Unlock()
	if !ok || t.Pull == nil {
		return
	}
	defer r.publishLocks.lock(name)()
	report := PullReport{Number: t.Pull.Number, Head: t.Head}
	switch {
	case t.Pull.Fork && !r.opts.AllowForks:
		report.Note = forkNote
	case t.Error != "":
		report.Note = "trueup cannot read the stacks on this branch: " + t.Error
	case len(t.Stacks) == 0:
		report.Note = "This change affects no stack."
	}
	for _, s := range t.Stacks {
		p, err := r.store.BranchPlan(ctx, t.Name, s)
		if err != nil || p.Revision != t.Head {
			report.Stacks = append(report.Stacks, StackReport{Stack: s, Revision: t.Head, Result: ResultRunning})
			continue
		}
		report.Stacks = append(report.Stacks, p.Report())
	}
	r.comment(ctx, report)
}

func (r *Reconciler) comment(ctx context.Context, report PullReport) {
	if err := r.opts.Forge.Comment(ctx, report); err != nil && ctx.Err() == nil {
		r.log.Warn("update pull request comment", "pr", report.Number, "err", err)
	}
}

// reviewedPull returns the pull request whose merge made rev, if trueup saw it merge.
func (r *Reconciler) reviewedPull(ctx context.Context, rev Revision) (int, bool) {
	n, err := r.store.MergeOf(ctx, rev)
	return n, err == nil
}

// checkReviewed compares the plan made at a merge commit with the plan shown on its pull request.
// It returns "" when the apply may go ahead, else why it is held.
func (r *Reconciler) checkReviewed(ctx context.Context, pr int, stack string, plan *Plan) string {
	shown, err := r.store.BranchPlan(ctx, pullTarget(pr), stack)
	if err != nil {
		if !plan.HasChanges() {
			return ""
		}
		return fmt.Sprintf("no plan for %s was shown on #%d, so nobody reviewed these changes: %s. Approve this revision to apply it",
			stack, pr, plan.Summary())
	}
	if shown.Result == ResultFailed {
		return fmt.Sprintf("the last plan shown on #%d for %s failed, so nobody reviewed a working plan. Approve this revision to apply it", pr, stack)
	}
	if diffs := ReviewDiff(shown.Changes, plan.Changes); len(diffs) > 0 {
		return holdReason(pr, diffs)
	}
	return ""
}

// recordMergeResult shows the apply (or hold) of a merged pull request on its comment.
func (r *Reconciler) recordMergeResult(ctx context.Context, pr int, stack string, run RunRecord, held string) {
	if r.opts.Forge == nil {
		return
	}
	defer r.publishLocks.lock(pullTarget(pr))()
	p, err := r.store.BranchPlan(ctx, pullTarget(pr), stack)
	if err != nil {
		p = BranchPlan{Target: pullTarget(pr), Stack: stack, Revision: run.Revision, Result: ResultRunning, Time: run.Started}
	}
	p.HeldReason = held
	if held == "" {
		p.Applied = &run
	}
	r.putPlan(ctx, p)
	plans, err := r.store.BranchPlans(ctx, pullTarget(pr))
	if err != nil {
		return
	}
	report := PullReport{Number: pr, Head: run.Revision}
	for _, bp := range plans {
		report.Stacks = append(report.Stacks, bp.Report())
	}
	r.comment(ctx, report)
}
