package reconciler

import (
	"errors"
	"fmt"
)

// ErrorKind decides what happens after a failure: whether it is retried, and how soon.
type ErrorKind int

// Error kinds.
const (
	// KindFailed needs a change in the repository (invalid HCL, a failing apply): retried on the next commit only.
	KindFailed ErrorKind = iota
	// KindTransient may go away by itself (a remote that is unreachable, a network error): retried with capped backoff.
	KindTransient
	// KindLocked is a Terraform state lock held by someone else: retried soon, with backoff.
	KindLocked
	// KindCanceled means trueup itself stopped the run (shutdown).
	KindCanceled
)

func (k ErrorKind) String() string {
	switch k {
	case KindTransient:
		return "transient"
	case KindLocked:
		return "locked"
	case KindCanceled:
		return "canceled"
	default:
		return "failed"
	}
}

// Error is a failure with a kind. Op names what failed ("init", "plan", "apply", "checkout"...).
type Error struct {
	Kind ErrorKind
	Op   string
	Err  error
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %v", e.Op, e.Err) }
func (e *Error) Unwrap() error { return e.Err }

// Errorf wraps err as a *Error of kind k for operation op.
func Errorf(k ErrorKind, op string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: k, Op: op, Err: err}
}

// KindOf returns the kind of the first *Error in err's chain, or KindFailed.
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindFailed
}

// ErrNotFound is returned by stores and sources for a missing item.
var ErrNotFound = errors.New("not found")

// ErrNotReady is returned for a request that needs what the daemon has not read yet (main's stacks,
// just after a start or a takeover): try again shortly.
var ErrNotReady = errors.New("not ready")

// ErrFenced is returned by a store shared by several replicas for a write made under a lease epoch
// that is no longer the leader's: the replica lost its lease and must stop acting as leader.
var ErrFenced = errors.New("fenced: this replica no longer holds the leader's lease")
