package reconciler

import (
	"fmt"
	"time"
)

// The events trueup tells people about, each built in one place with one wording. Callers give the
// facts; the words are here.

func applyRecoveredEvent(stack string, rev Revision, plan *Plan, now time.Time) Event {
	return Event{
		Kind: EventApplyRecovered, Stack: stack, Revision: rev, Time: now,
		Summary: stack + " applied successfully again", Action: "applied " + plan.Summary(), Changes: plan.Changes,
	}
}

func applyFailedEvent(run RunRecord, now time.Time) Event {
	return Event{
		Kind: EventApplyFailed, Stack: run.Stack, Revision: run.Revision, Time: now,
		Summary: run.Stack + " failed to apply " + run.Revision.Short(),
		Action:  failureAction(run.Transient), Error: run.Error, Changes: run.Changes,
	}
}

func applyHeldEvent(stack string, rev Revision, pr int, why string, changes []ResourceChange, now time.Time) Event {
	return Event{
		Kind: EventApplyHeld, Stack: stack, Revision: rev, Time: now, PullRequest: pr,
		Summary: fmt.Sprintf("%s: the merge of #%d was not applied", stack, pr),
		Action:  "held until approved for this revision, or a new commit", Reason: why, Changes: changes,
	}
}

// driftResolvedEvent says a drift episode ended; by says how ("corrected by trueup: applied +1 ~0 -0").
func driftResolvedEvent(stack string, rev Revision, by string, changes []ResourceChange, now time.Time) Event {
	return Event{
		Kind: EventDriftResolved, Stack: stack, Revision: rev, Time: now,
		Summary: driftSummary(EventDriftResolved, stack, 0), Action: by, Changes: changes,
	}
}

// driftEvent is the alert of a drift check's verdict (detected, changed, held, resolved).
func driftEvent(stack string, rev Revision, v DriftVerdict, plan *Plan, now time.Time) Event {
	return Event{
		Kind: v.Event, Stack: stack, Revision: rev, Time: now,
		Summary: driftSummary(v.Event, stack, len(plan.Changes)),
		Action:  v.Action, Reason: v.Held, Drift: plan.Drift, Changes: plan.Changes,
	}
}

func correctionFailedEvent(run RunRecord, changes []ResourceChange, now time.Time) Event {
	return Event{
		Kind: EventCorrectionFailed, Stack: run.Stack, Revision: run.Revision, Time: now,
		Summary: "correcting drift in " + run.Stack + " failed",
		Action:  "retrying with backoff; this alert is sent once per episode", Error: run.Error, Changes: changes,
	}
}

func interruptedEvent(run RunRecord, now time.Time) Event {
	return Event{
		Kind: EventRunInterrupted, Stack: run.Stack, Revision: run.Revision, Time: now,
		Summary: string(run.Kind) + " of " + run.Stack + " at " + run.Revision.Short() + " was interrupted",
		Action:  "it runs again from a fresh plan", Error: run.Error,
	}
}

func stackRemovedEvent(stack string, rev Revision, now time.Time) Event {
	return Event{
		Kind: EventStackRemoved, Stack: stack, Revision: rev, Time: now,
		Summary: stack + " is no longer in the repository; its resources were left as they are",
		Action:  "nothing destroyed: remove the resources by hand or with terraform destroy if intended",
	}
}

func hookFailedEvent(stack string, rev Revision, err error, now time.Time) Event {
	return Event{
		Kind: EventHookFailed, Stack: stack, Revision: rev, Time: now,
		Summary: "the on_apply hook of " + stack + " failed after a successful apply",
		Action:  "the apply was not rolled back", Error: err.Error(),
	}
}

func failureAction(transient bool) string {
	if transient {
		return "will retry with backoff"
	}
	return "will run again on the next commit"
}

func driftSummary(kind EventKind, stack string, n int) string {
	resources := fmt.Sprintf("%d resources differ", n)
	if n == 1 {
		resources = "1 resource differs"
	}
	switch kind {
	case EventDriftResolved:
		return stack + " is back in sync with git"
	case EventCorrectionHeld:
		return stack + " has drifted from git (" + resources + ") and trueup held the correction"
	case EventDriftChanged:
		return stack + " drift changed: now " + resources
	default:
		return stack + " has drifted from git: " + resources
	}
}
