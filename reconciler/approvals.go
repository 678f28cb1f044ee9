package reconciler

import "sync"

// approvals are approvals of held applies, given through the API or the CLI, waiting for the
// stack's worker. The worker is the only writer of a stack's state (the queue runs one worker per
// key), so an approval never races a worker saving a state it read before.
type approvals struct {
	mu      sync.Mutex
	pending map[string]Revision
}

// give records that the held apply of stack at rev may go ahead.
func (a *approvals) give(stack string, rev Revision) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.pending == nil {
		a.pending = map[string]Revision{}
	}
	a.pending[stack] = rev
}

// take returns and forgets the approval waiting for stack.
func (a *approvals) take(stack string) (Revision, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	rev, ok := a.pending[stack]
	delete(a.pending, stack)
	return rev, ok
}
