package reconciler_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	. "github.com/trueup/trueup/reconciler"
)

// unset deletes branches from the remote.
func (s *dagSource) unset(names ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range names {
		delete(s.heads.Branches, n)
	}
}

// TestThousandBranchesComeAndGoAndLeaveNoState: a long-running daemon holds only live state. A
// thousand branches are created (each planned, each holding only the one stack of two it plans) and
// deleted, and a stack leaves main; afterwards no target, target stack, publish lock or drift
// schedule entry of theirs is left.
func TestThousandBranchesComeAndGoAndLeaveNoState(t *testing.T) {
	p := newPullsHarness(t)
	r1 := p.dag.add("r1", pullBase)
	p.dag.set(map[string]Revision{"main": r1})
	p.start()
	eventually(t, "main applied", func() bool { return p.state("stacks/b").AppliedRev == r1 })
	eventually(t, "the drift schedule has both stacks", func() bool { _, _, _, n := p.rec.LiveEntries(); return n == 2 })

	const rounds, perRound = 20, 50
	for round := range rounds {
		refs := map[string]Revision{}
		var names []string
		for i := range perRound {
			name := fmt.Sprintf("b%02d-%02d", round, i)
			refs[name] = p.dag.add(Revision("c-"+name), withFile(pullBase, "stacks/a/main.tf", name), r1)
			names = append(names, name)
		}
		p.dag.set(refs)
		eventually(t, fmt.Sprintf("round %d planned", round), func() bool {
			for _, n := range names {
				if !p.shown(n, "stacks/a", refs[n]) {
					return false
				}
			}
			return true
		})
		_, held, _, _ := p.rec.LiveEntries()
		assert.Equal(t, perRound, held, "each branch holds the one stack it plans, not its whole layout")
		p.dag.unset(names...)
		eventually(t, fmt.Sprintf("round %d forgotten", round), func() bool {
			targets, stacks, locks, _ := p.rec.LiveEntries()
			return targets == 0 && stacks == 0 && locks == 0
		})
	}

	r2 := p.dag.add("r2", map[string]string{"stacks/a/main.tf": "a1"}, r1) // stacks/b leaves main
	p.dag.set(map[string]Revision{"main": r2})
	eventually(t, "the removed stack's drift schedule is dropped", func() bool { _, _, _, n := p.rec.LiveEntries(); return n == 1 })
	targets, stacks, locks, drift := p.rec.LiveEntries()
	assert.Equal(t, [4]int{0, 0, 0, 1}, [4]int{targets, stacks, locks, drift})
}
