package reconciler

import "time"

// LiveEntries reports how many entries the daemon's per-target and per-stack maps hold (targetStacks:
// the stacks the followed targets hold together), for the tests that show they stay bounded.
func (r *Reconciler) LiveEntries() (targets, targetStacks, locks, driftNext int) {
	targets, targetStacks, locks = r.plans.liveEntries()
	return targets, targetStacks, locks, r.drift.len()
}

// SetCommentRetry sets the first wait before a comment the forge failed to serve is read again, for
// the test's duration.
func SetCommentRetry(t interface{ Cleanup(func()) }, d time.Duration) {
	old := commentRetry
	commentRetry = d
	t.Cleanup(func() { commentRetry = old })
}
