package reconciler

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// BranchPlan is the last plan of one stack on a branch or pull request: what a reviewer saw.
type BranchPlan struct {
	Target   string           `json:"target"`
	Stack    string           `json:"stack"`
	Revision Revision         `json:"revision"`
	Result   RunResult        `json:"result"`
	Changes  []ResourceChange `json:"changes,omitempty"`
	Add      int              `json:"add"`
	Change   int              `json:"change"`
	Delete   int              `json:"delete"`
	Rendered string           `json:"rendered,omitempty"`
	Error    string           `json:"error,omitempty"`
	Time     time.Time        `json:"time"`
	// Applied is the apply on main of the merge that this plan was reviewed for.
	Applied *RunRecord `json:"applied,omitempty"`
	// HeldReason says why the merge was not applied.
	HeldReason string `json:"held_reason,omitempty"`
	// Notice is shown with the plan (see StackReport.Notice).
	Notice string `json:"notice,omitempty"`
}

// Report is the plan as one row and section of a pull request comment. A merge held for approval
// shows as held, with the reason, until it is applied; Result itself stays what the reviewer saw.
func (p BranchPlan) Report() StackReport {
	r := StackReport{
		Stack: p.Stack, Revision: p.Revision, Result: p.Result,
		Add: p.Add, Change: p.Change, Delete: p.Delete,
		Rendered: p.Rendered, Error: p.Error, Applied: p.Applied, HeldReason: p.HeldReason, Notice: p.Notice,
	}
	if p.HeldReason != "" && p.Applied == nil {
		r.Result = ResultHeld
	}
	return r
}

// ReviewDiff compares the plan shown on a pull request with the plan made at the merge commit. It
// returns nothing when they change the same resources in the same ways, and otherwise one line per
// difference, sorted by address.
func ReviewDiff(reviewed, now []ResourceChange) []string {
	before := map[string]Action{}
	for _, c := range reviewed {
		before[c.Address] = c.Action
	}
	after := map[string]Action{}
	for _, c := range now {
		after[c.Address] = c.Action
	}
	var diffs []string
	for addr, a := range after {
		b, ok := before[addr]
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("%s: now %s, not in the reviewed plan", addr, a))
		case a != b:
			diffs = append(diffs, fmt.Sprintf("%s: reviewed %s, now %s", addr, b, a))
		}
	}
	for addr, b := range before {
		if _, ok := after[addr]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s: reviewed %s, no longer in the plan", addr, b))
		}
	}
	slices.Sort(diffs)
	return diffs
}

// holdReason explains a merged plan that differs from the reviewed one.
// ref is how people refer to the pull request on its forge ("#12", "!12").
func holdReason(ref string, diffs []string) string {
	return fmt.Sprintf("the plan at the merge commit differs from the plan shown on %s (main moved, or the real world changed): %s. "+
		"Approve this revision to apply it, or push a new commit", ref, joinLimited(diffs, 10))
}

// forkNote is the comment on a fork's pull request when forks are not planned.
const forkNote = "trueup did not plan this pull request: it comes from a fork, and a plan can run arbitrary code " +
	"through providers and external data sources. An administrator can allow it with `allow_forks: true` (in the github or gitlab section of trueup.yaml)."

// firstLine is the first non-empty line of s, for commit status descriptions.
func firstLine(s string) string {
	for line := range strings.SplitSeq(s, "\n") {
		if t := strings.TrimSpace(line); t != "" {
			return t
		}
	}
	return ""
}
