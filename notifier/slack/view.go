package slack

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/trueup/trueup/reconciler"
)

// maxResources is how many resources a message lists before "…and N more".
const maxResources = 20

// verdicts says, per event kind, what a person reads first.
var verdicts = map[reconciler.EventKind]struct{ emoji, verdict string }{
	reconciler.EventDriftDetected:    {"⚠️", "drift detected"},
	reconciler.EventDriftChanged:     {"🔄", "drift changed"},
	reconciler.EventDriftResolved:    {"✅", "drift resolved"},
	reconciler.EventCorrectionHeld:   {"⏸️", "correction held"},
	reconciler.EventCorrectionFailed: {"❌", "correction failed"},
	reconciler.EventApplyFailed:      {"❌", "apply failed"},
	reconciler.EventApplyRecovered:   {"✅", "apply recovered"},
	reconciler.EventApplyHeld:        {"⏸️", "apply held"},
	reconciler.EventRunInterrupted:   {"⚡", "run interrupted"},
	reconciler.EventStackRemoved:     {"🗑️", "stack removed"},
	reconciler.EventHookFailed:       {"🪝", "hook failed"},
}

// headline is "<emoji> <stack>: <verdict>"; a kind this package does not know still reads sensibly.
func headline(e reconciler.Event) string {
	v, ok := verdicts[e.Kind]
	if !ok {
		v.emoji, v.verdict = "ℹ️", strings.ReplaceAll(string(e.Kind), "_", " ")
	}
	stack := e.Stack
	if stack == "" {
		stack = "(no stack)"
	}
	return fmt.Sprintf("%s %s: %s", v.emoji, stack, v.verdict)
}

// resource is one address with what happened to it outside Terraform and what the plan does to it.
type resource struct {
	Address string
	Drift   string            // "deleted", "updated", or "" when it did not drift
	Action  reconciler.Action // "" when the plan does not change it
}

// describe is what happened to r, to follow its address: " — deleted outside Terraform → create",
// " — updated outside Terraform", " → update".
func (r resource) describe() string {
	var s string
	if r.Drift != "" {
		s = " — " + r.Drift + " outside Terraform"
	}
	if r.Action != "" {
		s += " → " + string(r.Action)
	}
	return s
}

// resources merges e's drift and changes by address, sorted by address: a resource that drifted
// and that the correction changes is one line.
func resources(e reconciler.Event) []resource {
	byAddr := map[string]*resource{}
	var out []*resource
	get := func(addr string) *resource {
		if r, ok := byAddr[addr]; ok {
			return r
		}
		r := &resource{Address: addr}
		byAddr[addr] = r
		out = append(out, r)
		return r
	}
	for _, d := range e.Drift {
		get(d.Address).Drift = d.Change
	}
	for _, c := range e.Changes {
		get(c.Address).Action = c.Action
	}
	slices.SortFunc(out, func(a, b *resource) int { return naturalCompare(a.Address, b.Address) })
	rs := make([]resource, len(out))
	for i, r := range out {
		rs[i] = *r
	}
	return rs
}

// naturalCompare orders strings with runs of digits compared as numbers, so that
// "aws_x.y[2]" comes before "aws_x.y[10]" as people expect.
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := digits(a), digits(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if c := cmp.Compare(len(na), len(nb)); c != 0 {
				return c
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return cmp.Compare(a[0], b[0])
		}
		a, b = a[1:], b[1:]
	}
	return cmp.Compare(len(a), len(b))
}

// digits is the length of the run of ASCII digits that starts s.
func digits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

// facts is the revision and pull request line in plain text, or "".
func facts(e reconciler.Event) string {
	var parts []string
	if e.Revision != "" {
		parts = append(parts, "Revision "+e.Revision.Short())
	}
	if e.PullRequest != 0 {
		parts = append(parts, fmt.Sprintf("Pull request #%d", e.PullRequest))
	}
	return strings.Join(parts, " · ")
}

// stamp is the event's time in UTC for people who read plain text, or "" when it is unset.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// more is the line that stands for the resources a list left out.
func more(n int) string { return fmt.Sprintf("…and %d more", n) }
