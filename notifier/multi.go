package notifier

import (
	"context"
	"errors"
	"fmt"

	"github.com/trueup/trueup/reconciler"
)

// Multi delivers each event to several notifiers.
//
// Notify tries every notifier, in order, even when one fails, and returns the errors.Join of the
// failures, each wrapped with the failing notifier's name. Because the reconciler retries a failed
// event as a whole, a notifier that succeeded may receive the same event again; notifiers behind a
// Multi should tolerate a repeat (a log line twice is harmless).
type Multi struct {
	ns []reconciler.Notifier
}

var (
	_ reconciler.Notifier = (*Multi)(nil)
	_ Named               = (*Multi)(nil)
)

// NewMulti returns a Multi over ns; nil entries are skipped.
func NewMulti(ns ...reconciler.Notifier) *Multi {
	m := &Multi{}
	for _, n := range ns {
		if n != nil {
			m.ns = append(m.ns, n)
		}
	}
	return m
}

// Name is "multi".
func (m *Multi) Name() string { return "multi" }

// Notify delivers e to every notifier and returns the joined failures, or nil when all delivered.
func (m *Multi) Notify(ctx context.Context, e reconciler.Event) error {
	var errs []error
	for _, n := range m.ns {
		if err := n.Notify(ctx, e); err != nil {
			errs = append(errs, fmt.Errorf("notify %s: %w", NameOf(n), err))
		}
	}
	return errors.Join(errs...)
}
