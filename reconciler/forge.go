package reconciler

import "context"

// PullRequest is an open or recently closed pull request on the forge.
type PullRequest struct {
	Number int
	Title  string
	// HeadBranch is the branch name the pull request proposes.
	HeadBranch string
	// Head is the head commit (refs/pull/N/head on GitHub, refs/merge-requests/N/head on GitLab).
	Head Revision
	// Base is the branch it merges into ("main").
	Base string
	// Fork is true when the head lives in another repository.
	Fork bool
	// State is "open" or "closed".
	State  string
	Merged bool
	// MergeCommit is the commit on Base that the merge made, once Merged.
	MergeCommit Revision
	// Author is the login of whoever opened it (for commands: who may not approve their own).
	Author string
}

// StatusState is a commit status state.
type StatusState string

// Commit status states.
const (
	StatusPending StatusState = "pending"
	StatusSuccess StatusState = "success"
	StatusFailure StatusState = "failure"
	StatusError   StatusState = "error"
)

// StackReport is one stack's row and section in a pull request comment.
type StackReport struct {
	Stack    string
	Revision Revision
	// Result is ResultSucceeded (planned), ResultNoChanges, ResultFailed, ResultHeld, or ResultRunning.
	Result              RunResult
	Add, Change, Delete int
	// Rendered is Terraform's own rendering of the plan (terraform show of the plan file).
	Rendered string
	// Error is Terraform's error text, for a failed plan.
	Error string
	// Applied is set once the merged change was applied (or failed to apply) on main.
	Applied *RunRecord
	// HeldReason says why the merged change was not applied, with the difference.
	HeldReason string
	// Notice is shown in the stack's section, e.g. that the branch changes a privilege setting
	// (AWS roles, on_apply) that takes effect only after the merge.
	Notice string
	// Stale is true when main has moved and changed this stack since this plan was made: it is being
	// planned again. A merge meanwhile is still compared with this plan, the one shown.
	Stale bool
}

// PullReport is everything one pull request comment shows.
type PullReport struct {
	Number int
	Head   Revision
	// Note is shown above the table, e.g. why a fork's pull request was not planned.
	Note   string
	Stacks []StackReport
}

// Forge is the code host: pull requests, commit statuses and the living plan comment.
type Forge interface {
	// OpenPulls lists the open pull requests into base.
	OpenPulls(ctx context.Context, base string) ([]PullRequest, error)
	// Pull returns one pull request, open or closed.
	Pull(ctx context.Context, number int) (PullRequest, error)
	// SetStatus sets the commit status for one stack on rev (context "trueup/<stack>").
	SetStatus(ctx context.Context, rev Revision, stack string, state StatusState, description string) error
	// Comment creates the pull request's plan comment, or edits it in place when it exists (found by a
	// hidden marker), splitting it across several comments when it is too long. Calls for one pull
	// request never overlap: the caller serialises them (the planner's publish locks).
	Comment(ctx context.Context, report PullReport) error
}
