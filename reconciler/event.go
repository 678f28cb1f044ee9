package reconciler

import "time"

// EventKind names what happened.
type EventKind string

// Event kinds. Each is sent once per transition, never on every tick.
const (
	EventDriftDetected    EventKind = "drift_detected"    // a stack started drifting
	EventDriftChanged     EventKind = "drift_changed"     // the set of drifted resources changed
	EventDriftResolved    EventKind = "drift_resolved"    // the drift is gone (corrected by trueup or by someone else)
	EventCorrectionHeld   EventKind = "correction_held"   // a guardrail held a correction
	EventCorrectionFailed EventKind = "correction_failed" // a correction failed (once per episode)
	EventApplyFailed      EventKind = "apply_failed"      // an apply on main failed
	EventApplyRecovered   EventKind = "apply_recovered"   // a stack that failed on main applied again
	EventApplyHeld        EventKind = "apply_held"        // a merged plan differs from the reviewed one
	EventRunInterrupted   EventKind = "run_interrupted"   // a run was cut short by a crash or stop
	EventStackRemoved     EventKind = "stack_removed"     // a stack left the repository; nothing was destroyed
	EventHookFailed       EventKind = "hook_failed"       // an on_apply hook failed; the apply stands
)

// Event is something people should hear about.
type Event struct {
	// Seq is the outbox sequence number, set by the store.
	Seq      uint64    `json:"seq,omitempty"`
	Kind     EventKind `json:"kind"`
	Stack    string    `json:"stack"`
	Revision Revision  `json:"revision,omitempty"`
	Time     time.Time `json:"time"`
	// Summary is one line saying what happened, for the plain-text fallback and log lines.
	Summary string `json:"summary"`
	// Action says what trueup did about it ("corrected", "alert only", "held: ...").
	Action string `json:"action,omitempty"`
	// Reason is why trueup held back, for held events.
	Reason string `json:"reason,omitempty"`
	// Drift is what changed outside Terraform.
	Drift []ResourceDrift `json:"drift,omitempty"`
	// Changes is what the correction or apply does (or would have done).
	Changes []ResourceChange `json:"changes,omitempty"`
	// Error is the failure text, for failure events.
	Error string `json:"error,omitempty"`
	// PullRequest is the pull request number, when there is one.
	PullRequest int `json:"pull_request,omitempty"`
}
