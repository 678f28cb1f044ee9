package reconciler

// LiveEntries reports how many entries the daemon's per-target and per-stack maps hold, for the
// tests that show they stay bounded.
func (r *Reconciler) LiveEntries() (targets, layouts, locks, driftNext int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.targets), len(r.targetLayouts), r.publishLocks.len(), r.drift.len()
}
