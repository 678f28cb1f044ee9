package reconciler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// IntentKind is what a person asked a standby replica for.
type IntentKind string

// Intent kinds.
const (
	IntentReconcile IntentKind = "reconcile" // Reconcile(Stack)
	IntentApprove   IntentKind = "approve"   // Approve(Stack, Revision)
	IntentComment   IntentKind = "comment"   // PullComment(PullRequest, Comment): a comment command
)

// Intent is a request a standby recorded for the leader, which carries it out (Carry).
type Intent struct {
	Kind     IntentKind
	Stack    string
	Revision Revision
	// PullRequest and Comment name the comment of an IntentComment.
	PullRequest int
	Comment     int64
}

// IntentRecorder keeps intents until the leader carries them out, and wakes the leader.
type IntentRecorder interface {
	RecordIntent(ctx context.Context, in Intent) error
}

// Standby answers the API on a replica that does not lead: it reads the shared store, and records
// what people ask for as intents the leader carries out. It never runs Terraform and never writes
// a stack's state.
type Standby struct {
	store   Store
	intents IntentRecorder
	log     *slog.Logger
}

// NewStandby returns a Standby over the shared store.
func NewStandby(store Store, intents IntentRecorder, log *slog.Logger) *Standby {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Standby{store: store, intents: intents, log: log}
}

// Stacks returns every stack the store knows, sorted by name. A standby has no layout of its own:
// a stack is taken to be in the repository unless it was recorded as removed.
func (s *Standby) Stacks(ctx context.Context) ([]StackStatus, error) {
	states, err := s.store.Stacks(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]StackStatus, 0, len(states))
	for _, st := range states {
		out = append(out, StackStatus{
			Name: st.Name, Dir: st.Dir, Workspace: st.Workspace, AppliedRev: st.AppliedRev, SyncedRev: st.SyncedRev,
			LastRun: st.LastRun, Drift: st.Drift, Held: st.Held, Removed: st.Removed, InRepository: !st.Removed, Hook: st.Hook,
		})
	}
	sortByName(out)
	return out, nil
}

// Stack returns one stack's status, or ErrNotFound.
func (s *Standby) Stack(ctx context.Context, name string) (StackStatus, error) {
	all, err := s.Stacks(ctx)
	if err != nil {
		return StackStatus{}, err
	}
	for _, st := range all {
		if st.Name == name {
			return st, nil
		}
	}
	return StackStatus{}, fmt.Errorf("stack %q: %w", name, ErrNotFound)
}

// Reconcile records a reconcile intent for a stack the store knows, or returns ErrNotFound.
func (s *Standby) Reconcile(ctx context.Context, name string) error {
	if _, err := s.store.Stack(ctx, name); err != nil {
		return fmt.Errorf("stack %q: %w", name, err)
	}
	return s.record(ctx, Intent{Kind: IntentReconcile, Stack: name})
}

// Approve checks rev against the stack's held apply, as the leader would, and records the approval
// for the leader. It returns the full revision approved.
func (s *Standby) Approve(ctx context.Context, name, rev string) (Revision, error) {
	st, err := s.store.Stack(ctx, name)
	if err != nil {
		return "", fmt.Errorf("stack %q: %w", name, err)
	}
	held, err := heldRevision(st, rev)
	if err != nil {
		return "", err
	}
	return held, s.record(ctx, Intent{Kind: IntentApprove, Stack: name, Revision: held})
}

func (s *Standby) record(ctx context.Context, in Intent) error {
	if err := s.intents.RecordIntent(ctx, in); err != nil {
		return fmt.Errorf("record %s of %s for the leader: %w", in.Kind, in.Stack, err)
	}
	s.log.Info("request recorded for the leader", "intent", in.Kind, "stack", in.Stack, "rev", in.Revision.Short())
	return nil
}

// Health says this replica stands by.
func (s *Standby) Health() Health { return Health{Standby: true} }

// StoreOK reports whether the shared store answers.
func (s *Standby) StoreOK(ctx context.Context) error { return s.store.Ping(ctx) }

// PullPlans returns the plans recorded for pull request number, as the leader would.
func (s *Standby) PullPlans(ctx context.Context, number int) ([]BranchPlan, error) {
	return pullPlans(ctx, s.store, number)
}

// QueueLen is zero: a standby queues nothing.
func (s *Standby) QueueLen() int { return 0 }

// Carry carries out an intent a standby recorded. An approval of a revision no longer held, or a
// reconcile of a stack no longer in the repository, is dropped: it returns nil, with a log line, so
// the intent is not retried forever. Other errors mean "try again later", and so does an error
// before main's stacks were first read (a leader that has just taken over).
func (r *Reconciler) Carry(ctx context.Context, in Intent) error {
	if head, _ := r.mainLayout(); head == "" {
		// A new leader has not read the repository yet: "not in the repository" would be a lie.
		return fmt.Errorf("main's stacks are not read yet: %w", ErrNotReady)
	}
	var err error
	switch in.Kind {
	case IntentComment:
		r.PullComment(ctx, in.PullRequest, in.Comment) // read from the forge and answered in the thread
		return nil
	case IntentReconcile:
		err = r.Reconcile(ctx, in.Stack)
	case IntentApprove:
		_, err = r.Approve(ctx, in.Stack, string(in.Revision))
	default:
		r.log.Warn("unknown request from a standby dropped", "intent", in.Kind, "stack", in.Stack)
		return nil
	}
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) {
		r.log.Warn("request from a standby no longer applies; dropped", "intent", in.Kind, "stack", in.Stack, "err", err)
		return nil
	}
	return err
}
