package reconciler

import (
	"math/rand/v2"
	"sync"
	"time"
)

// driftSchedule is the drift schedule of the stacks on main: when each is next checked, which are
// due now, and which a person forced (a retry even of a failure at this revision). It has its own
// lock and holds only stacks of main's layout.
type driftSchedule struct {
	mu     sync.Mutex
	due    map[string]bool
	forced map[string]bool
	next   map[string]time.Time
}

func newDriftSchedule() *driftSchedule {
	return &driftSchedule{due: map[string]bool{}, forced: map[string]bool{}, next: map[string]time.Time{}}
}

// isDue reports whether a drift check of stack is due.
func (d *driftSchedule) isDue(stack string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.due[stack]
}

// markDue makes a drift check of stack due.
func (d *driftSchedule) markDue(stack string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.due[stack] = true
}

// clearDue: the stack was checked, or an apply converges it anyway.
func (d *driftSchedule) clearDue(stack string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.due, stack)
}

// force records that a person asked for stack to run again.
func (d *driftSchedule) force(stack string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.forced[stack] = true
}

// takeForced reports and forgets whether a person asked for stack to run again.
func (d *driftSchedule) takeForced(stack string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	f := d.forced[stack]
	delete(d.forced, stack)
	return f
}

// tick reports whether stack's check is due at now, and if so schedules the next one a jittered
// interval later. A stack seen for the first time is first due at a random point of one interval,
// so stacks do not all run at once.
func (d *driftSchedule) tick(stack string, interval time.Duration, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	next, ok := d.next[stack]
	if !ok {
		next = now.Add(time.Duration(rand.Int64N(int64(interval))))
		d.next[stack] = next
	}
	if now.Before(next) {
		return false
	}
	d.next[stack] = now.Add(jitter(interval))
	return true
}

// keepOnly forgets every stack not in stacks.
func (d *driftSchedule) keepOnly(stacks map[string]bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, m := range []map[string]bool{d.due, d.forced} {
		for name := range m {
			if !stacks[name] {
				delete(m, name)
			}
		}
	}
	for name := range d.next {
		if !stacks[name] {
			delete(d.next, name)
		}
	}
}

// len is the number of stacks scheduled.
func (d *driftSchedule) len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.next)
}

// jitter returns d ± 10%.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	spread := int64(d) / 5
	if spread == 0 {
		return d
	}
	return d - time.Duration(spread/2) + time.Duration(rand.Int64N(spread))
}
