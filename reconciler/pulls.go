package reconciler

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
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

// observePulls lists the open pull requests and records the merges of those that closed. It returns
// false when the forge could not answer: main must then wait, so that a merge is never applied as if
// nobody had reviewed it.
func (p *planner) observePulls(ctx context.Context) ([]PullRequest, bool) {
	pulls, err := p.forge.OpenPulls(ctx, p.branch)
	if err != nil {
		if ctx.Err() == nil {
			p.log.Error("list open pull requests; main waits until the forge answers", "err", err)
		}
		return nil, false
	}
	return pulls, p.closeGonePulls(ctx, pulls)
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
func (p *planner) closeGonePulls(ctx context.Context, open []PullRequest) bool {
	known, err := p.store.Pulls(ctx)
	if err != nil {
		p.log.Error("read pull requests from the store", "err", err)
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
		pr, err := p.forge.Pull(ctx, n)
		if err != nil && !errors.Is(err, ErrNotFound) {
			p.log.Error("look up a closed pull request", "pr", n, "err", err)
			return false
		}
		if err == nil {
			p.pullClosed(ctx, pr)
		} else {
			p.dropTarget(ctx, pullTarget(n), true)
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
func (p *planner) detectMerges(ctx context.Context, head Revision, open []PullRequest) {
	prev, _ := p.main() // main's previous head: observeHead has not loaded the new one yet
	for _, pr := range open {
		if (pr.Fork && !p.allowForks) || !p.mergedBy(ctx, head, prev, pr) {
			continue
		}
		if err := p.store.RecordMerge(ctx, head, pr.Number); err != nil {
			p.log.Error("record merge", "pr", pr.Number, "err", err)
			continue
		}
		p.log.Info("main contains a pull request's head: treating it as merged", "pr", pr.Number, "rev", head.Short())
	}
}

// mergedBy reports whether main's move from prev to head brought in the head of pr, a pull request
// trueup planned, and no merge is recorded for head yet.
func (p *planner) mergedBy(ctx context.Context, head, prev Revision, pr PullRequest) bool {
	base, err := p.src.MergeBase(ctx, head, pr.Head)
	if err != nil || base != pr.Head {
		return false
	}
	if prev != "" && prev != head {
		if base, err := p.src.MergeBase(ctx, prev, pr.Head); err == nil && base == pr.Head {
			return false
		}
	}
	if _, err := p.store.Pull(ctx, pr.Number); err != nil {
		return false // never planned by trueup: nothing was reviewed through it
	}
	_, known := p.reviewedPull(ctx, head)
	return !known
}

// pullClosed records a merge (so main's apply compares against what was reviewed) and cleans up.
func (p *planner) pullClosed(ctx context.Context, pr PullRequest) {
	if pr.Merged && pr.MergeCommit != "" {
		if err := p.store.RecordMerge(ctx, pr.MergeCommit, pr.Number); err != nil {
			p.log.Error("record merge", "pr", pr.Number, "err", err)
		}
		p.log.Info("pull request merged", "pr", pr.Number, "merge", pr.MergeCommit.Short())
	}
	p.dropTarget(ctx, pullTarget(pr.Number), !pr.Merged)
}

func (p *planner) setStatus(ctx context.Context, rev Revision, stack string, state StatusState, desc string) {
	if err := p.forge.SetStatus(ctx, rev, stack, state, desc); err != nil && ctx.Err() == nil {
		p.log.Warn("set commit status", "stack", stack, "rev", rev.Short(), "err", err)
	}
}

// publish edits the pull request's living comment to show every affected stack's latest result.
// Calls for one pull request are serialised so an older report never overwrites a newer one, and
// coalesced: a call while the comment is being written returns at once, and the writer writes once
// more with everything up to then (200 plans finishing together make a few writes, not 200, and
// hold no worker waiting on the forge).
func (p *planner) publish(ctx context.Context, name string) {
	if !p.publishing.begin(name) {
		return
	}
	for {
		p.publishOnce(ctx, name)
		if !p.publishing.again(name) {
			return
		}
	}
}

// publishOnce writes the pull request's comment from the store as it is now.
func (p *planner) publishOnce(ctx context.Context, name string) {
	t, _, ok := p.followed(name)
	if !ok || t.Pull == nil {
		return
	}
	defer p.publishLocks.lock(name)()
	report := PullReport{Number: t.Pull.Number, Head: t.Head}
	switch {
	case t.Pull.Fork && !p.allowForks:
		report.Note = forkNote
	case t.Error != "":
		report.Note = "trueup cannot read the stacks on this branch: " + t.Error
	case len(t.Stacks) == 0:
		report.Note = "This change affects no stack."
	}
	for _, s := range t.Stacks {
		bp, err := p.store.BranchPlan(ctx, t.Name, s)
		if err != nil || bp.Revision != t.Head {
			report.Stacks = append(report.Stacks, StackReport{Stack: s, Revision: t.Head, Result: ResultRunning})
			continue
		}
		sr := bp.Report()
		sr.Stale = p.stale.at(Key{Stack: s, Branch: t.Name}) != ""
		report.Stacks = append(report.Stacks, sr)
	}
	p.comment(ctx, report)
}

func (p *planner) comment(ctx context.Context, report PullReport) {
	if err := p.forge.Comment(ctx, report); err != nil && ctx.Err() == nil {
		p.log.Warn("update pull request comment", "pr", report.Number, "err", err)
	}
}

// reviewedPull returns the pull request whose merge made rev, if trueup saw it merge.
func (p *planner) reviewedPull(ctx context.Context, rev Revision) (int, bool) {
	n, err := p.store.MergeOf(ctx, rev)
	return n, err == nil
}

// checkReviewed compares the plan made at a merge commit with the plan shown on its pull request.
// It returns "" when the apply may go ahead, else why it is held.
func (p *planner) checkReviewed(ctx context.Context, pr int, stack string, plan *Plan) string {
	shown, err := p.store.BranchPlan(ctx, pullTarget(pr), stack)
	if err != nil {
		if !plan.HasChanges() {
			return ""
		}
		return fmt.Sprintf("no plan for %s was shown on %s, so nobody reviewed these changes: %s. Approve this revision to apply it",
			stack, p.ref(pr), plan.Summary())
	}
	if shown.Result == ResultFailed {
		return fmt.Sprintf("the last plan shown on %s for %s failed, so nobody reviewed a working plan. Approve this revision to apply it", p.ref(pr), stack)
	}
	if diffs := ReviewDiff(shown.Changes, plan.Changes); len(diffs) > 0 {
		return holdReason(p.ref(pr), diffs)
	}
	return ""
}

// recordMergeResult shows the apply (or hold) of a merged pull request on its comment.
func (p *planner) recordMergeResult(ctx context.Context, pr int, stack string, run RunRecord, held string) {
	defer p.publishLocks.lock(pullTarget(pr))()
	bp, err := p.store.BranchPlan(ctx, pullTarget(pr), stack)
	if err != nil {
		bp = BranchPlan{Target: pullTarget(pr), Stack: stack, Revision: run.Revision, Result: ResultRunning, Time: run.Started}
	}
	bp.HeldReason = held
	if held == "" {
		bp.Applied = &run
	}
	p.putPlan(ctx, bp)
	plans, err := p.store.BranchPlans(ctx, pullTarget(pr))
	if err != nil {
		return
	}
	report := PullReport{Number: pr, Head: run.Revision}
	for _, b := range plans {
		report.Stacks = append(report.Stacks, b.Report())
	}
	p.comment(ctx, report)
}

// The planner's wiring into Reconciler, and forwards from the old call sites.
