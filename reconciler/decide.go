package reconciler

import (
	"time"
)

// Step is what the reconciler does next for one stack on main.
type Step int

// Steps, in the order Decide considers them.
const (
	StepNone       Step = iota // nothing to do
	StepRemove                 // the stack left the repository: report it, destroy nothing
	StepMarkSynced             // main moved without touching the stack: record that it is current
	StepApply                  // plan and apply the head revision
	StepRetryLater             // a transient failure: try again at Decision.At
	StepDriftCheck             // plan at the applied revision and correct what drifted
)

func (s Step) String() string {
	return [...]string{"none", "remove", "mark-synced", "apply", "retry-later", "drift-check"}[s]
}

// Snapshot is everything Decide looks at for one stack on main, observed just before deciding.
type Snapshot struct {
	Now time.Time
	// Head is main's head revision whose layout was loaded.
	Head Revision
	// InLayout is true when the stack exists at Head.
	InLayout bool
	// Known is true when the store has a state for the stack.
	Known bool
	State StackState
	// Affected is true when the changes between State.SyncedRev and Head touch the stack.
	Affected bool
	// DriftDue is true when the drift timer (or a person) asked for a check.
	DriftDue bool
	// Forced is true when a person asked to reconcile the stack: a failure at Head is retried.
	Forced bool
	Policy DriftPolicy
}

// Decision is Decide's answer.
type Decision struct {
	Step Step
	// At is when to retry, for StepRetryLater.
	At time.Time
	// Why explains the decision, for logs.
	Why string
}

// Decide is the reconciler's pure decision for one stack on main: level-triggered, it looks only at
// what is observed now, never at what triggered it.
func Decide(s Snapshot) Decision {
	if !s.InLayout {
		if s.Known && !s.State.Removed {
			return Decision{Step: StepRemove, Why: "stack is no longer in the repository"}
		}
		return Decision{Step: StepNone, Why: "not in the repository"}
	}
	st := s.State
	if st.SyncedRev != s.Head {
		if st.SyncedRev != "" && !s.Affected {
			return Decision{Step: StepMarkSynced, Why: "main moved without touching the stack"}
		}
		if h := st.Held; h != nil && h.Revision == s.Head && st.ApprovedRev != s.Head {
			return Decision{Step: StepNone, Why: "apply held: " + h.Reason}
		}
		if last := st.LastRun; last != nil && last.Kind == RunApply && last.Revision == s.Head && last.Result == ResultFailed {
			if !last.Transient && !s.Forced {
				return Decision{Step: StepNone, Why: "failed at this revision; waiting for a new commit"}
			}
			if last.Transient && !s.Forced && s.Now.Before(st.RetryAt) {
				return Decision{Step: StepRetryLater, At: st.RetryAt, Why: "transient failure; backing off"}
			}
		}
		if st.SyncedRev == "" {
			return Decision{Step: StepApply, Why: "new stack"}
		}
		return Decision{Step: StepApply, Why: "main changed the stack"}
	}
	if !s.DriftDue || s.Policy.Remediate == RemediateOff {
		return Decision{Step: StepNone, Why: "in sync"}
	}
	if last := st.LastRun; last != nil && last.Result == ResultFailed && last.Transient && s.Now.Before(st.RetryAt) {
		return Decision{Step: StepRetryLater, At: st.RetryAt, Why: "drift correction failed; backing off"}
	}
	return Decision{Step: StepDriftCheck, Why: "drift check due"}
}

// Backoff is the capped exponential delay before retry number failures (1-based): 30s, 1m, 2m, … up to 15m.
func Backoff(failures int) time.Duration {
	const base, ceiling = 30 * time.Second, 15 * time.Minute
	if failures < 1 {
		failures = 1
	}
	d := base
	for i := 1; i < failures && d < ceiling; i++ {
		d *= 2
	}
	return min(d, ceiling)
}
