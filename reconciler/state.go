package reconciler

import (
	"context"
	"time"
)

// RunKind is why a run happened.
type RunKind string

// Run kinds.
const (
	RunApply RunKind = "apply" // main moved: plan and apply
	RunPlan  RunKind = "plan"  // a branch or pull request: plan only
	RunDrift RunKind = "drift" // a drift check at the applied revision, with correction
)

// RunResult is how a run ended.
type RunResult string

// Run results.
const (
	ResultRunning     RunResult = "running"
	ResultSucceeded   RunResult = "succeeded"   // applied, or planned, or checked
	ResultNoChanges   RunResult = "no_changes"  // the plan had nothing to do
	ResultFailed      RunResult = "failed"      // init, plan or apply failed; Error says why
	ResultHeld        RunResult = "held"        // a guardrail or an unreviewed plan stopped the apply
	ResultInterrupted RunResult = "interrupted" // trueup stopped or died while it ran
)

// RunRecord is one run, kept in the store: in flight while it runs, then in the stack's history.
type RunRecord struct {
	ID       string    `json:"id"`
	Stack    string    `json:"stack"`
	Branch   string    `json:"branch"`
	Kind     RunKind   `json:"kind"`
	Revision Revision  `json:"revision"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	Result   RunResult `json:"result"`
	Error    string    `json:"error,omitempty"`
	// Transient is true when the error may go away by itself (retried with backoff).
	Transient bool             `json:"transient,omitempty"`
	Changes   []ResourceChange `json:"changes,omitempty"`
	Drift     []ResourceDrift  `json:"drift,omitempty"`
}

// DriftState is a stack's drift episode, kept so a restart never repeats an alert.
type DriftState struct {
	// Drifted is true from the first check that found drift until one that found none.
	Drifted bool `json:"drifted"`
	// Resources are the drifted resources last alerted, sorted by address.
	Resources []ResourceChange `json:"resources,omitempty"`
	// Since is when the episode began.
	Since time.Time `json:"since,omitzero"`
	// LastChecked is when the last check finished.
	LastChecked time.Time `json:"last_checked,omitzero"`
	// CorrectionFailures counts failed corrections in this episode (the first one alerts).
	CorrectionFailures int `json:"correction_failures,omitempty"`
	// HeldReason is the guardrail holding the correction, if any.
	HeldReason string `json:"held_reason,omitempty"`
}

// Hold is an apply on main that trueup will not run until a person approves it or a new commit arrives.
type Hold struct {
	Revision Revision         `json:"revision"`
	Reason   string           `json:"reason"`
	Changes  []ResourceChange `json:"changes,omitempty"`
	Since    time.Time        `json:"since"`
}

// StackState is what trueup knows about one stack on main, kept across restarts.
type StackState struct {
	Name      string `json:"name"`
	Dir       string `json:"dir"`
	Workspace string `json:"workspace"`
	// AppliedRev is the last main revision successfully applied (or planned with no changes).
	AppliedRev Revision `json:"applied_rev,omitempty"`
	// SyncedRev is the latest main revision the stack is known to match: AppliedRev, or a later
	// revision whose changes did not affect the stack.
	SyncedRev Revision `json:"synced_rev,omitempty"`
	// LastRun is the most recent finished run on main.
	LastRun *RunRecord `json:"last_run,omitempty"`
	// Failures counts consecutive failed runs on main; it sets the backoff.
	Failures int `json:"failures,omitempty"`
	// RetryAt is when a transient failure may be retried.
	RetryAt time.Time `json:"retry_at,omitzero"`
	// Removed is true once the stack left the repository (it is never destroyed automatically).
	Removed bool `json:"removed,omitempty"`
	// Drift is the current drift episode.
	Drift DriftState `json:"drift"`
	// Held is an apply waiting for approval.
	Held *Hold `json:"held,omitempty"`
	// ApprovedRev is a revision a person approved for apply despite a hold.
	ApprovedRev Revision `json:"approved_rev,omitempty"`
	// Hook is the outcome of the last on_apply hooks.
	Hook *HookResult `json:"hook,omitempty"`
}

// Store keeps trueup's own state. Implementations must be safe for concurrent use and durable:
// what a call wrote before it returned survives a crash. Every call is one transaction: a write
// either happens whole or not at all, and a read sees no write half done. Every call fails with
// ctx's error, writing nothing, when ctx is done before it starts. Values come back as they went in,
// every field (a time may lose its location and precision below the microsecond), and what a call
// returns belongs to the caller.
// storetest is the conformance suite: a store that passes it can replace another.
type Store interface {
	// Stack returns the named stack's state, or ErrNotFound.
	Stack(ctx context.Context, name string) (StackState, error)
	// Stacks returns every stack's state, sorted by name.
	Stacks(ctx context.Context) ([]StackState, error)
	// PutStack writes a stack's state and appends events to the outbox, atomically: after a crash
	// either both are there or neither, so an alert is never lost nor sent twice for one transition.
	PutStack(ctx context.Context, s StackState, events ...Event) error

	// StartRun records r as in flight.
	StartRun(ctx context.Context, r RunRecord) error
	// FinishRun removes r from the in-flight runs and appends it to its stack's history (the newest 50 are kept).
	FinishRun(ctx context.Context, r RunRecord) error
	// InFlight returns the runs started and not finished, oldest first: after a crash, the interrupted ones.
	InFlight(ctx context.Context) ([]RunRecord, error)
	// Runs returns a stack's finished runs, newest first, at most limit.
	Runs(ctx context.Context, stack string, limit int) ([]RunRecord, error)

	// Enqueue appends e to the outbox of undelivered notifications and returns its sequence number.
	Enqueue(ctx context.Context, e Event) (uint64, error)
	// Outbox returns undelivered notifications in the order they were enqueued, at most limit (all when
	// limit <= 0). Sequence numbers are never reused.
	Outbox(ctx context.Context, limit int) ([]Event, error)
	// Ack removes a delivered notification from the outbox; acking a missing one is not an error.
	Ack(ctx context.Context, seq uint64) error

	// Branch and pull request plans. A plan is keyed by its Target (a branch name, or "pr:N" for pull
	// request N) and its Stack. Neither name is empty or holds a NUL byte (git refuses NUL in branch
	// names, layouts in stack names), so a store may join them with NUL into one key: two different
	// pairs never share it, and a target's plans are the keys that start with target+"\x00". A name
	// PutBranchPlan refuses has no plans: BranchPlan returns ErrNotFound, BranchPlans none, and
	// DeleteBranchPlans has nothing to do. Plans are few per target but many in all (every branch and
	// pull request): BranchPlans and DeleteBranchPlans must not read the plans of other targets.

	// BranchPlan returns the plan recorded for stack on target, or ErrNotFound.
	BranchPlan(ctx context.Context, target, stack string) (BranchPlan, error)
	// BranchPlans returns every plan recorded for target, sorted by stack (byte order), or none (not an
	// error). Only target's own: target "a" does not list the plans of "a/b", nor "pr:1" those of "pr:10".
	BranchPlans(ctx context.Context, target string) ([]BranchPlan, error)
	// PutBranchPlan writes p under (p.Target, p.Stack), replacing the plan recorded there. It refuses an
	// empty Target or Stack, or one holding a NUL byte.
	PutBranchPlan(ctx context.Context, p BranchPlan) error
	// DeleteBranchPlans removes every plan of target, atomically (after a crash all are gone or none
	// is). A target without plans is not an error. The pull request record is not touched: DeletePull.
	DeleteBranchPlans(ctx context.Context, target string) error

	// PutPull records a pull request trueup has planned, replacing the record of the same Number, which
	// must be positive.
	PutPull(ctx context.Context, pr PullRequest) error
	// Pull returns the record of pull request number, or ErrNotFound.
	Pull(ctx context.Context, number int) (PullRequest, error)
	// Pulls returns every recorded pull request, sorted by number.
	Pulls(ctx context.Context) ([]PullRequest, error)
	// DeletePull removes the record of pull request number; removing a missing one is not an error.
	DeletePull(ctx context.Context, number int) error

	// RecordMerge records commit, on main, as the merge of pull request pr, replacing an earlier record
	// of commit. It refuses an empty commit or a pr that is not positive. Merge records are kept for
	// good: however late main's apply of commit runs, it is compared with what was reviewed on pr.
	RecordMerge(ctx context.Context, commit Revision, pr int) error
	// MergeOf returns the pull request whose merge made commit, or ErrNotFound.
	MergeOf(ctx context.Context, commit Revision) (int, error)

	// Ping returns nil when the store can serve calls, an error when it cannot (closed, unreachable).
	// It writes nothing.
	Ping(ctx context.Context) error

	// Close releases the store; calls after it fail.
	Close() error
}
