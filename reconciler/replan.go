package reconciler

import (
	"context"
	"sync"
)

// replanSet holds the keys of branch or pull request stacks that must be planned again at the same
// head (a "trueup plan" command, or main moved under them).
type replanSet struct {
	mu   sync.Mutex
	keys map[Key]bool
}

func (s *replanSet) mark(k Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys == nil {
		s.keys = map[Key]bool{}
	}
	s.keys[k] = true
}

// take reports whether k was marked, and forgets it.
func (s *replanSet) take(k Key) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	ok := s.keys[k]
	delete(s.keys, k)
	return ok
}

// forget drops every mark of target.
func (s *replanSet) forget(target string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.keys {
		if k.Branch == target {
			delete(s.keys, k)
		}
	}
}

// replan plans stacks of the target named name again now, even at a head already planned.
func (p *planner) replan(ctx context.Context, name string, stacks []string) {
	t, _, ok := p.followed(name)
	if !ok {
		return
	}
	for _, s := range stacks {
		k := Key{Stack: s, Branch: name}
		p.replans.mark(k)
		p.setStatus(ctx, t.Head, s, StatusPending, "planning")
		p.queue.Add(k)
	}
}
