package reconciler

import (
	"context"
	"slices"
	"sync"
	"time"
)

// staleSet remembers which pull request plans main has moved under: main changed a stack the pull
// request also changes, so its plan was made against a real world and a base that are no longer
// main's. Such a plan is shown marked stale until it has been planned again. The marks live in
// memory: after a restart a pull request is re-planned only when it or main moves again.
type staleSet struct {
	mu       sync.Mutex
	keys     map[Key]Revision // the pull request stack → main's head that made its plan stale
	lastMain Revision         // main's head the planner last saw
}

// swapMain records head as main's and returns the head seen before.
func (s *staleSet) swapMain(head Revision) Revision {
	s.mu.Lock()
	defer s.mu.Unlock()
	prev := s.lastMain
	s.lastMain = head
	return prev
}

func (s *staleSet) mark(k Key, head Revision) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys == nil {
		s.keys = map[Key]Revision{}
	}
	s.keys[k] = head
}

// at returns main's head that made k's plan stale, or "" when it is not stale.
func (s *staleSet) at(k Key) Revision {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[k]
}

// clear drops k's mark when it was made at head: a plan that started after that move is current.
func (s *staleSet) clear(k Key, head Revision) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys[k] == head {
		delete(s.keys, k)
	}
}

// forget drops every mark of target.
func (s *staleSet) forget(target string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.keys {
		if k.Branch == target {
			delete(s.keys, k)
		}
	}
}

// noticeMainMove marks stale, and plans again, the stacks of open pull requests that main's move to
// head also changed, and shows the marks on their comments. The first head seen (a start) marks
// nothing.
func (p *planner) noticeMainMove(ctx context.Context, head Revision) {
	prev := p.stale.swapMain(head)
	if prev == "" || prev == head {
		return
	}
	targets := p.pullTargetNames()
	if len(targets) == 0 {
		return // no open pull request: nothing to diff for
	}
	_, layout := p.main()
	if layout == nil || layout.Affects == nil {
		return
	}
	changed, err := p.src.Changed(ctx, prev, head)
	if err != nil {
		p.log.Warn("cannot tell what main's move changed; pull request plans are not refreshed", "from", prev.Short(), "to", head.Short(), "err", err)
		return
	}
	var moved []string
	for _, s := range layout.Stacks {
		if layout.Affects(s, changed) {
			moved = append(moved, s.Name)
		}
	}
	if len(moved) == 0 {
		return
	}
	for _, name := range targets {
		t, _, ok := p.followed(name)
		if !ok || (t.Pull.Fork && !p.allowForks) {
			continue
		}
		var stale []string
		for _, s := range t.Stacks {
			if slices.Contains(moved, s) {
				stale = append(stale, s)
			}
		}
		if len(stale) == 0 {
			continue
		}
		p.log.Info("main moved under a pull request: planning its stacks again", "target", name, "main", head.Short(), "stacks", stale)
		for _, s := range stale {
			k := Key{Stack: s, Branch: name}
			p.stale.mark(k, head)
			p.replans.mark(k)
			p.queue.Add(k)
		}
		p.publish(ctx, name)
	}
}

// pullTargetNames are the followed pull requests' target names, sorted.
func (p *planner) pullTargetNames() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var names []string
	for name, t := range p.targets {
		if t.Pull != nil {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// staleWaitsForMain reports whether k's stale plan must wait for main's own run of the stack (its
// apply changes the real world the plan is made against), and if so queues k again shortly.
func (p *planner) staleWaitsForMain(k Key) bool {
	if p.stale.at(k) == "" {
		return false
	}
	mainKey := Key{Stack: k.Stack, Branch: p.branch}
	if !p.queue.Pending(mainKey) && !p.queue.Processing(mainKey) {
		return false
	}
	p.queue.AddAfter(k, staleRetry)
	return true
}

// staleRetry is how soon a stale plan waiting for main's run of its stack looks again.
const staleRetry = 500 * time.Millisecond
