package reconciler

import (
	"fmt"
	"slices"
	"strings"
)

// Guardrail reports why a correction may not be applied automatically, or "" when it may.
// A correction that deletes or forgets anything (a replace deletes) needs AllowDestroy; one with more
// resource changes than MaxChanges (when set) is too large; an incomplete plan is never applied.
func Guardrail(p DriftPolicy, plan *Plan) string {
	if plan == nil {
		return ""
	}
	if !plan.Complete {
		return "the plan is incomplete"
	}
	if !p.AllowDestroy {
		var destroys []string
		for _, c := range plan.Changes {
			if c.Action.Destroys() {
				destroys = append(destroys, fmt.Sprintf("%s (%s)", c.Address, c.Action))
			}
		}
		if len(destroys) > 0 {
			return "allow_destroy is false and the correction would destroy " + joinLimited(destroys, 5)
		}
	}
	if p.MaxChanges > 0 && len(plan.Changes) > p.MaxChanges {
		return fmt.Sprintf("the correction has %d changes, more than max_changes (%d)", len(plan.Changes), p.MaxChanges)
	}
	return ""
}

func joinLimited(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:n], ", ") + fmt.Sprintf(" and %d more", len(items)-n)
}

// DriftVerdict is what one drift check concluded and what should follow.
type DriftVerdict struct {
	// Drifted is true when the real world differs from the committed configuration.
	Drifted bool
	// Apply is true when the checked plan should be applied now.
	Apply bool
	// Held is the guardrail that keeps the correction from being applied, if any.
	Held string
	// Event is the kind of notification this check calls for, or "" when nothing changed.
	Event EventKind
	// Action is what trueup does about it, in words.
	Action string
	// Next is the stack's drift state after this check (before any correction runs).
	Next DriftState
}

// JudgeDrift decides, from a drift check's plan and the episode so far, whether to correct, hold or
// only alert, and which notification (if any) the transition calls for: one when an episode starts,
// one when the set of drifted resources changes, and one when it ends.
func JudgeDrift(p DriftPolicy, plan *Plan, prev DriftState) DriftVerdict {
	v := DriftVerdict{Next: prev}
	if !plan.HasChanges() {
		v.Next = DriftState{}
		if prev.Drifted {
			v.Event = EventDriftResolved
			v.Action = "none: the real world matches git again (changed outside trueup)"
		}
		return v
	}
	v.Drifted = true
	resources := slices.Clone(plan.Changes)
	slices.SortFunc(resources, func(a, b ResourceChange) int { return strings.Compare(a.Address, b.Address) })
	sameSet := prev.Drifted && slices.Equal(prev.Resources, resources)

	switch {
	case p.Remediate == RemediateAlert:
		v.Action = "alert only (remediate: alert)"
	default:
		v.Held = Guardrail(p, plan)
		if v.Held != "" {
			v.Action = "held the correction: nothing was applied"
		} else {
			v.Apply = true
			v.Action = "correcting: applying the checked plan"
		}
	}
	if !sameSet || (v.Held != "" && prev.HeldReason != v.Held) {
		switch {
		case v.Held != "":
			v.Event = EventCorrectionHeld
		case prev.Drifted:
			v.Event = EventDriftChanged
		default:
			v.Event = EventDriftDetected
		}
	}
	v.Next.Drifted = true
	v.Next.Resources = resources
	v.Next.HeldReason = v.Held
	if !sameSet {
		v.Next.CorrectionFailures = 0
	}
	return v
}
