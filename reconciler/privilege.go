package reconciler

import (
	"strings"
)

// trustedPrivilege returns the branch's stack s with its privilege settings (AWS roles, external
// ID, region, session duration, on_apply) taken from trusted configuration only: the same stack on
// the applied branch, or the daemon's defaults for a stack that is new on the branch. notice says
// so, for the pull request, when the branch's own .trueup.yaml asks for something else.
func (p *planner) trustedPrivilege(s Stack) (Stack, string) {
	_, main := p.main()
	return TrustedPrivilege(s, main, p.defaultAWS)
}

// TrustedPrivilege is trustedPrivilege as a pure function of the branch's stack, the applied
// branch's layout and the daemon's AWS defaults.
func TrustedPrivilege(s Stack, main *Layout, defaults StackAWS) (Stack, string) {
	trusted := Stack{AWS: defaults}
	if m, ok := main.Stack(s.Name); ok {
		trusted = m
	}
	var changed []string
	if s.AWS != trusted.AWS {
		changed = append(changed, "aws")
	}
	if !sameOnApply(s.OnApply, trusted.OnApply) {
		changed = append(changed, "on_apply")
	}
	s.AWS, s.OnApply = trusted.AWS, trusted.OnApply
	if len(changed) == 0 {
		return s, ""
	}
	return s, "This branch changes the " + strings.Join(changed, " and ") + " settings of " + s.Name +
		" in .trueup.yaml. Plans of branches use the settings of the applied branch; the change takes effect after the merge."
}

func sameOnApply(a, b OnApply) bool {
	eq := func(x, y bool) bool { return x == y }
	if !eq(a.ECSRedeploy == nil, b.ECSRedeploy == nil) || !eq(a.Webhook == nil, b.Webhook == nil) {
		return false
	}
	if a.ECSRedeploy != nil && *a.ECSRedeploy != *b.ECSRedeploy {
		return false
	}
	return a.Webhook == nil || *a.Webhook == *b.Webhook
}
