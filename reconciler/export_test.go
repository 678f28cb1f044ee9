package reconciler

// LiveEntries reports how many entries the daemon's per-target and per-stack maps hold (targetStacks:
// the stacks the followed targets hold together), for the tests that show they stay bounded.
func (r *Reconciler) LiveEntries() (targets, targetStacks, locks, driftNext int) {
	targets, targetStacks, locks = r.plans.liveEntries()
	return targets, targetStacks, locks, r.drift.len()
}
