package terraform

import (
	"slices"
	"sort"

	tfjson "github.com/hashicorp/terraform-json"

	"github.com/trueup/trueup/reconciler"
)

// fromJSON fills plan's Changes, Drift, Complete and OutputChanges from Terraform's JSON plan.
func fromJSON(tp *tfjson.Plan, plan *reconciler.Plan) {
	plan.Changes = nil
	for _, rc := range tp.ResourceChanges {
		if rc == nil || rc.Change == nil {
			continue
		}
		if a, ok := action(rc.Change.Actions); ok {
			plan.Changes = append(plan.Changes, reconciler.ResourceChange{Address: rc.Address, Action: a})
		}
	}
	sort.Slice(plan.Changes, func(i, k int) bool { return plan.Changes[i].Address < plan.Changes[k].Address })

	plan.Drift = nil
	for _, rd := range tp.ResourceDrift {
		if rd == nil || rd.Change == nil || rd.Change.Actions.NoOp() {
			continue
		}
		change := "updated"
		if rd.Change.Actions.Delete() {
			change = "deleted"
		}
		plan.Drift = append(plan.Drift, reconciler.ResourceDrift{Address: rd.Address, Change: change})
	}
	sort.Slice(plan.Drift, func(i, k int) bool { return plan.Drift[i].Address < plan.Drift[k].Address })

	// "complete" appeared in Terraform 1.8; an older plan that was saved is complete.
	plan.Complete = tp.Complete == nil || *tp.Complete

	plan.OutputChanges = false
	if len(plan.Changes) == 0 {
		for _, oc := range tp.OutputChanges {
			if oc != nil && len(oc.Actions) > 0 && !oc.Actions.NoOp() {
				plan.OutputChanges = true
				break
			}
		}
	}
}

// action maps Terraform's action list to one Action; ok is false for a no-op. A combination this
// code does not know is never dropped: it counts as a replace when it destroys or forgets
// anything, as an update otherwise.
func action(a tfjson.Actions) (reconciler.Action, bool) {
	switch {
	case len(a) == 0 || a.NoOp():
		return "", false
	case a.Replace():
		return reconciler.ActionReplace, true
	case a.Create():
		return reconciler.ActionCreate, true
	case a.Update():
		return reconciler.ActionUpdate, true
	case a.Delete():
		return reconciler.ActionDelete, true
	case a.Read():
		return reconciler.ActionRead, true
	case a.Forget():
		return reconciler.ActionForget, true
	case slices.Contains(a, tfjson.ActionDelete), slices.Contains(a, tfjson.ActionForget):
		return reconciler.ActionReplace, true
	default:
		return reconciler.ActionUpdate, true
	}
}
