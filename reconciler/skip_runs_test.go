package reconciler_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"

	. "github.com/trueup/trueup/reconciler"
)

// Every run checks its stack out without the other stacks' directories: main's applies and drift
// checks with main's stacks, a pull request's plans with the stacks of its own head.
func TestRunsCheckOutWithoutOtherStacks(t *testing.T) {
	p := newPullsHarness(t)
	var mu sync.Mutex
	skips := map[string][]string{} // "<kind> <stack>" -> spec.Skip
	plan := p.runner.PlanFunc
	p.runner.PlanFunc = func(ctx context.Context, spec RunSpec) (*Plan, error) {
		kind := "main"
		if spec.Untrusted {
			kind = "pr"
		}
		mu.Lock()
		skips[kind+" "+spec.Stack.Name] = spec.Skip
		mu.Unlock()
		return plan(ctx, spec)
	}
	base := withFile(pullBase, "stacks/c/main.tf", "c1")
	r1 := p.dag.add("r1", base)
	p1 := p.dag.add("p1", withFile(withFile(base, "stacks/a/main.tf", "a2"), "stacks/d/main.tf", "d1"), r1)
	p.dag.set(map[string]Revision{"main": r1, "feature": p1, "pull/1": p1})
	p.forge.put(PullRequest{Number: 1, HeadBranch: "feature", Head: p1, Base: "main", State: "open"})
	p.start()
	eventually(t, "#1 planned", func() bool { return p.shown("pr:1", "stacks/a", p1) })
	eventually(t, "main applied", func() bool { return p.state("stacks/c").AppliedRev == r1 })

	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"stacks/b", "stacks/c"}, skips["main stacks/a"])
	assert.Equal(t, []string{"stacks/a", "stacks/c"}, skips["main stacks/b"])
	assert.Equal(t, []string{"stacks/b", "stacks/c", "stacks/d"}, skips["pr stacks/a"], "the pull request's own new stack is another stack")
}
