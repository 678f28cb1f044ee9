package reconciler

import (
	"fmt"
	"slices"
	"time"
)

// Action is what a plan does to one resource.
type Action string

// Plan actions, as Terraform names them ("replace" stands for delete+create in either order).
const (
	ActionCreate  Action = "create"
	ActionUpdate  Action = "update"
	ActionDelete  Action = "delete"
	ActionReplace Action = "replace"
	ActionRead    Action = "read"
	ActionForget  Action = "forget"
)

// Destroys reports whether the action removes a real object or drops it from state.
func (a Action) Destroys() bool {
	return a == ActionDelete || a == ActionReplace || a == ActionForget
}

// ResourceChange is one resource the plan would change (no-ops are never listed).
type ResourceChange struct {
	Address string `json:"address"`
	Action  Action `json:"action"`
}

// ResourceDrift is one resource that changed outside Terraform since the last apply.
type ResourceDrift struct {
	Address string `json:"address"`
	// Change is "deleted" or "updated".
	Change string `json:"change"`
}

// Plan is the outcome of a successful terraform plan.
type Plan struct {
	// File is the saved plan file; Apply applies exactly this file.
	File string
	// Changes lists the non-no-op resource changes, sorted by address.
	Changes []ResourceChange
	// Drift lists what the refresh found changed outside Terraform, sorted by address.
	Drift []ResourceDrift
	// Complete is false when Terraform says the plan is incomplete (deferred or partial).
	Complete bool
	// OutputChanges is true when only outputs change.
	OutputChanges bool
	// Rendered is Terraform's human rendering of the plan (terraform show), when it was asked for.
	Rendered string
	// TerraformTime is the time spent inside Terraform (init, plan, show).
	TerraformTime time.Duration
}

// HasChanges reports whether applying the plan would change any resource.
func (p *Plan) HasChanges() bool { return p != nil && len(p.Changes) > 0 }

// Counts returns how many resources the plan adds, changes and destroys, as Terraform counts them
// (a replace counts as one add and one destroy).
func (p *Plan) Counts() (add, change, destroy int) {
	if p == nil {
		return 0, 0, 0
	}
	for _, c := range p.Changes {
		switch c.Action {
		case ActionCreate:
			add++
		case ActionUpdate:
			change++
		case ActionDelete, ActionForget:
			destroy++
		case ActionReplace:
			add++
			destroy++
		}
	}
	return add, change, destroy
}

// Summary is "+1 ~0 -0" or "no changes".
func (p *Plan) Summary() string {
	if !p.HasChanges() {
		return "no changes"
	}
	a, c, d := p.Counts()
	return fmt.Sprintf("+%d ~%d -%d", a, c, d)
}

// SameChanges reports whether two plans change the same resources in the same ways.
func SameChanges(a, b []ResourceChange) bool {
	return slices.Equal(a, b)
}

// ApplyResult is the outcome of a successful terraform apply.
type ApplyResult struct {
	TerraformTime time.Duration
}
