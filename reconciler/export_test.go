package reconciler

// LiveEntries reports how many entries the daemon's per-target and per-stack maps hold, for the
// tests that show they stay bounded.
func (r *Reconciler) LiveEntries() (targets, layouts, locks, driftNext int) {
	targets, layouts, locks = r.plans.liveEntries()
	return targets, layouts, locks, r.drift.len()
}
