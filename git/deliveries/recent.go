// Package deliveries remembers the webhook deliveries a forge's handler has already accepted, so that a
// redelivery (the forge retrying, or someone pressing "redeliver") runs nothing twice.
package deliveries

import "sync"

// Recent remembers the last n ids added, forgetting the oldest first. Safe for concurrent use.
type Recent struct {
	mu   sync.Mutex
	set  map[string]struct{}
	ring []string
	next int
}

// NewRecent returns a Recent that remembers n ids (at least 1).
func NewRecent(n int) *Recent {
	n = max(n, 1)
	return &Recent{set: make(map[string]struct{}, n), ring: make([]string, n)}
}

// Add remembers id and reports whether it was new.
func (r *Recent) Add(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.set[id]; ok {
		return false
	}
	if old := r.ring[r.next]; old != "" {
		delete(r.set, old)
	}
	r.ring[r.next] = id
	r.next = (r.next + 1) % len(r.ring)
	r.set[id] = struct{}{}
	return true
}
