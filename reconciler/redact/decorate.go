package redact

import (
	"context"

	"github.com/trueup/trueup/reconciler"
)

// Forge returns f with every text it writes redacted: the pull request comment (see
// [Set.RedactReport]) and the commit status's stack and description. OpenPulls and Pull pass
// through.
func (s *Set) Forge(f reconciler.Forge) reconciler.Forge { return &forge{set: s, next: f} }

// Notifier returns n with every text of each event redacted (see [Set.RedactEvent]).
func (s *Set) Notifier(n reconciler.Notifier) reconciler.Notifier {
	return &notifier{set: s, next: n}
}

var (
	_ reconciler.Forge    = (*forge)(nil)
	_ reconciler.Notifier = (*notifier)(nil)
)

type forge struct {
	set  *Set
	next reconciler.Forge
}

func (f *forge) OpenPulls(ctx context.Context, base string) ([]reconciler.PullRequest, error) {
	return f.next.OpenPulls(ctx, base)
}

func (f *forge) Pull(ctx context.Context, number int) (reconciler.PullRequest, error) {
	return f.next.Pull(ctx, number)
}

func (f *forge) SetStatus(ctx context.Context, rev reconciler.Revision, stack string, state reconciler.StatusState, description string) error {
	return f.next.SetStatus(ctx, rev, f.set.Redact(stack), state, f.set.Redact(description))
}

func (f *forge) Comment(ctx context.Context, report reconciler.PullReport) error {
	return f.next.Comment(ctx, f.set.RedactReport(report))
}

type notifier struct {
	set  *Set
	next reconciler.Notifier
}

func (n *notifier) Notify(ctx context.Context, e reconciler.Event) error {
	return n.next.Notify(ctx, n.set.RedactEvent(e))
}

// RedactReport returns a redacted copy of a pull request report: its Note and each stack's Stack,
// Rendered, Error, HeldReason, Notice and Applied run.
//
// RedactReport, RedactEvent, RedactRun and RedactStack never change their argument: the slices
// and records they redact are copied. They redact every free text; revisions (commit hashes) and
// enumerations (kinds, results, actions) are not text a secret reaches and are kept as they are,
// since a comment's, a status's or a record's identity hangs on them.
func (s *Set) RedactReport(r reconciler.PullReport) reconciler.PullReport {
	r.Note = s.Redact(r.Note)
	if r.Stacks != nil {
		stacks := make([]reconciler.StackReport, len(r.Stacks))
		for i, st := range r.Stacks {
			st.Stack = s.Redact(st.Stack)
			st.Rendered = s.Redact(st.Rendered)
			st.Error = s.Redact(st.Error)
			st.HeldReason = s.Redact(st.HeldReason)
			st.Notice = s.Redact(st.Notice)
			if st.Applied != nil {
				run := s.RedactRun(*st.Applied)
				st.Applied = &run
			}
			stacks[i] = st
		}
		r.Stacks = stacks
	}
	return r
}

// RedactEvent returns a redacted copy of an event: its Stack, Summary, Action, Reason and Error,
// and the addresses (and kinds of change) of its Drift and Changes.
func (s *Set) RedactEvent(e reconciler.Event) reconciler.Event {
	e.Stack = s.Redact(e.Stack)
	e.Summary = s.Redact(e.Summary)
	e.Action = s.Redact(e.Action)
	e.Reason = s.Redact(e.Reason)
	e.Error = s.Redact(e.Error)
	e.Drift = s.drift(e.Drift)
	e.Changes = s.changes(e.Changes)
	return e
}

// RedactRun returns a redacted copy of a run record: its ID, Stack, Branch and Error, and the
// addresses of its Changes and Drift.
func (s *Set) RedactRun(r reconciler.RunRecord) reconciler.RunRecord {
	r.ID = s.Redact(r.ID)
	r.Stack = s.Redact(r.Stack)
	r.Branch = s.Redact(r.Branch)
	r.Error = s.Redact(r.Error)
	r.Changes = s.changes(r.Changes)
	r.Drift = s.drift(r.Drift)
	return r
}

// RedactStack returns a redacted copy of a stack's state, as written to the store or shown by the
// API: its last run (see [Set.RedactRun]), drift resources and held reason, its hold's reason and
// changes, and its hook's error. The stack's Name, Dir and Workspace are kept: they are the key it
// is stored and looked up by, and a short secret that happens to be a directory's name must not
// cost the stack its history.
func (s *Set) RedactStack(st reconciler.StackState) reconciler.StackState {
	if st.LastRun != nil {
		run := s.RedactRun(*st.LastRun)
		st.LastRun = &run
	}
	st.Drift.Resources = s.changes(st.Drift.Resources)
	st.Drift.HeldReason = s.Redact(st.Drift.HeldReason)
	if st.Held != nil {
		h := *st.Held
		h.Reason = s.Redact(h.Reason)
		h.Changes = s.changes(h.Changes)
		st.Held = &h
	}
	if st.Hook != nil {
		h := *st.Hook
		h.Error = s.Redact(h.Error)
		st.Hook = &h
	}
	return st
}

func (s *Set) changes(cs []reconciler.ResourceChange) []reconciler.ResourceChange {
	if cs == nil {
		return nil
	}
	out := make([]reconciler.ResourceChange, len(cs))
	for i, c := range cs {
		c.Address = s.Redact(c.Address)
		out[i] = c
	}
	return out
}

func (s *Set) drift(ds []reconciler.ResourceDrift) []reconciler.ResourceDrift {
	if ds == nil {
		return nil
	}
	out := make([]reconciler.ResourceDrift, len(ds))
	for i, d := range ds {
		d.Address = s.Redact(d.Address)
		d.Change = s.Redact(d.Change)
		out[i] = d
	}
	return out
}
