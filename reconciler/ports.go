package reconciler

import (
	"context"
	"io/fs"
)

// Heads are the branch and pull-request heads of the remote at one poll.
type Heads struct {
	// Branches maps a branch name ("main") to its head.
	Branches map[string]Revision
	// Pulls maps a pull request number to its head (GitHub's refs/pull/N/head, GitLab's
	// refs/merge-requests/N/head), when the remote has them.
	Pulls map[int]Revision
}

// Source is the git repository trueup follows. Implementations must be safe for concurrent use.
type Source interface {
	// Poll lists the remote's refs and fetches only when one moved. A remote that cannot be reached
	// is a KindTransient error; the previous heads stay usable.
	Poll(ctx context.Context) (Heads, error)
	// Changed returns the slash-separated repository paths that differ between from and to
	// (added, modified, deleted, or both names of a rename). An empty from means every path in to.
	Changed(ctx context.Context, from, to Revision) ([]string, error)
	// Tree returns a read-only view of the repository's files at rev.
	Tree(ctx context.Context, rev Revision) (fs.FS, error)
	// Checkout makes dir hold exactly the tracked files of rev outside the directories skip names
	// (slash-separated, from the repository root). Files it did not write before (Terraform's
	// state, .terraform, plan files) are left alone, and unchanged files are not rewritten.
	Checkout(ctx context.Context, rev Revision, dir string, skip ...string) error
	// MergeBase returns the best common ancestor of a and b, or ErrNotFound.
	MergeBase(ctx context.Context, a, b Revision) (Revision, error)
}

// RunSpec is everything a Runner needs for one run of one stack.
type RunSpec struct {
	Stack Stack
	// Revision is the commit checked out in Workdir.
	Revision Revision
	// Workdir is the root of the repository checkout; the stack lives in Workdir/Stack.Dir.
	Workdir string
	// Skip are the repository directories the checkout in Workdir leaves out: other stacks' (skipDirs).
	Skip []string
	// DataDir is a directory kept for this stack and branch between runs (TF_DATA_DIR, plan files).
	DataDir string
	// StatePath is where a stack that declares no backend keeps its state (an absolute path).
	StatePath string
	// Env is added to the Terraform process's environment for this run only (credentials); never logged.
	Env map[string]string
	// Render asks Plan to fill Plan.Rendered with Terraform's human rendering.
	Render bool
	// Untrusted is true for runs of branch and pull request code: the Runner gives them only what
	// trusted configuration grants untrusted runs (their own environment list, a sandbox, a copy
	// of the stack's state), never the applied branch's.
	Untrusted bool
	// RunID identifies the run (per-run HOME and TMPDIR, logs).
	RunID string
	// SeedDataDir is an initialised DataDir of the same stack on the applied branch; a new DataDir
	// starts from a copy of it when their init inputs are the same, and its first run skips init.
	// It must be a trusted run's DataDir (it is copied, never shared, and never written); "" for none.
	SeedDataDir string
}

// Runner runs Terraform. Errors are *Error: KindLocked for a held state lock, KindCanceled when ctx
// ended, KindFailed otherwise, with Terraform's own error text in the message.
type Runner interface {
	// Plan inits when needed, plans to a plan file, and reads the plan back.
	Plan(ctx context.Context, spec RunSpec) (*Plan, error)
	// Apply applies exactly plan.File, nothing else.
	Apply(ctx context.Context, spec RunSpec, plan *Plan) (*ApplyResult, error)
}

// Notifier delivers an event to people. Notify returns an error when delivery failed and may be retried.
type Notifier interface {
	Notify(ctx context.Context, e Event) error
}

// NotifierFunc adapts a function to Notifier.
type NotifierFunc func(ctx context.Context, e Event) error

// Notify calls f.
func (f NotifierFunc) Notify(ctx context.Context, e Event) error { return f(ctx, e) }
