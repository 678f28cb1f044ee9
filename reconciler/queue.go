package reconciler

import (
	"context"
	"strconv"
	"sync"
	"time"
)

// Priority orders the work of a Queue: a higher priority is handed out first.
type Priority int8

// The priorities of the reconciler's work, highest last. Values outside the range are clamped.
const (
	// PriorityDrift is a drift check of a stack on the applied branch.
	PriorityDrift Priority = iota
	// PriorityPlan is a plan of a branch or a pull request.
	PriorityPlan
	// PriorityApply is work on the applied branch: an apply after it moved, an approval, a retry.
	PriorityApply

	numPriorities = int(PriorityApply) + 1
)

// StarvationBound is how many Gets in a row may hand out higher-priority keys while an eligible
// lower-priority key waits: the next Get then hands out the oldest key of that lower priority
// (the lowest such priority first). However many applies and plans keep arriving, the oldest
// eligible drift check is handed out within StarvationBound+1 Gets, and the oldest plan within
// StarvationBound+3 (drift checks handed out for their own starvation may pass it too).
// A merge's apply thus waits behind at most one drift check, and only when drift was already
// starved.
const StarvationBound = 8

func (p Priority) String() string {
	switch p {
	case PriorityDrift:
		return "drift"
	case PriorityPlan:
		return "plan"
	case PriorityApply:
		return "apply"
	}
	return "priority(" + strconv.Itoa(int(p)) + ")"
}

func (p Priority) clamp() Priority {
	return min(max(p, PriorityDrift), PriorityApply)
}

// QueueOption configures a Queue at construction.
type QueueOption[K comparable] func(*Queue[K])

// WithDefaultPriority sets the priority that Add and AddAfter give a key. Without it they give
// PriorityPlan to every key, so a queue that only uses Add is FIFO.
func WithDefaultPriority[K comparable](f func(K) Priority) QueueOption[K] {
	return func(q *Queue[K]) { q.defaultPriority = f }
}

// WithGroup sets how keys are grouped for the running limit (SetGroupLimit). A key whose group is
// "" is in no group and never limited. Without WithGroup the limit has no effect.
func WithGroup[K comparable](f func(K) string) QueueOption[K] {
	return func(q *Queue[K]) { q.group = f }
}

// WithGroupLimit is SetGroupLimit at construction.
func WithGroupLimit[K comparable](n int) QueueOption[K] {
	return func(q *Queue[K]) { q.limit = max(n, 0) }
}

// Queue is a keyed work queue. A key queued twice runs once; a key is never handed to two workers
// at once; a key added while it is being processed is handed out again once it is Done.
//
// Each Add carries a Priority (AddPriority; Add uses the queue's default for the key). A key already
// queued, scheduled or due to run again keeps the highest priority it was added with. Get hands out
// the highest priority first and, within a priority, keys in the order they were queued at it;
// StarvationBound keeps lower priorities moving.
//
// With a group function and a group limit n > 0, at most n keys of one group that were handed out
// below PriorityApply run at once: Get skips the keys of a group at its limit. Keys handed out at
// PriorityApply, and keys of the group "", are neither limited nor counted.
type Queue[K comparable] struct {
	mu              sync.Mutex
	cond            chan struct{} // closed and replaced whenever work may be available
	defaultPriority func(K) Priority
	group           func(K) string
	limit           int

	seq        uint64
	levels     [numPriorities]map[string]*fifo[K] // waiting keys, per priority, per group
	queued     map[K]*entry[K]
	processing map[K]running
	dirty      map[K]Priority // re-added while processing, with the highest priority asked for
	timers     map[K]*timer
	running    map[string]int // per group, keys handed out below PriorityApply and not yet Done
	passed     [numPriorities]int
	closed     bool
}

type entry[K comparable] struct {
	key        K
	p          Priority
	group      string
	seq        uint64
	prev, next *entry[K]
}

// fifo is a doubly linked list of the entries of one group at one priority, oldest first.
type fifo[K comparable] struct{ head, tail *entry[K] }

func (f *fifo[K]) push(e *entry[K]) {
	e.prev, e.next = f.tail, nil
	if f.tail != nil {
		f.tail.next = e
	} else {
		f.head = e
	}
	f.tail = e
}

func (f *fifo[K]) remove(e *entry[K]) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		f.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		f.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

type running struct {
	group   string
	limited bool // counted in Queue.running
}

type timer struct {
	t *time.Timer
	p Priority
}

// NewQueue returns an empty queue.
func NewQueue[K comparable](opts ...QueueOption[K]) *Queue[K] {
	q := &Queue[K]{
		cond:       make(chan struct{}),
		queued:     map[K]*entry[K]{},
		processing: map[K]running{},
		dirty:      map[K]Priority{},
		timers:     map[K]*timer{},
		running:    map[string]int{},
	}
	for i := range q.levels {
		q.levels[i] = map[string]*fifo[K]{}
	}
	for _, o := range opts {
		o(q)
	}
	return q
}

// KeyPriority is the reconciler's default priority of a key: PriorityApply for the applied
// branch's keys, PriorityPlan for a branch's or a pull request's. Drift checks are added with
// AddPriority(k, PriorityDrift).
func KeyPriority(applied string) func(Key) Priority {
	return func(k Key) Priority {
		if k.Branch == applied {
			return PriorityApply
		}
		return PriorityPlan
	}
}

// KeyGroup groups the reconciler's keys by branch (a branch name, "pr:N"), so that the group limit
// bounds what one change runs at once. The applied branch's keys are in no group: its applies are
// never limited, and its drift checks yield to everything else by priority instead, so a sweep
// still uses every idle worker.
func KeyGroup(applied string) func(Key) string {
	return func(k Key) string {
		if k.Branch == applied {
			return ""
		}
		return k.Branch
	}
}

// newKeyQueue is the reconciler's queue: KeyPriority and KeyGroup for the applied branch, with at
// most groupLimit keys of one branch or pull request running at once (0: unlimited).
func newKeyQueue(applied string, groupLimit int) *Queue[Key] {
	return NewQueue(WithDefaultPriority(KeyPriority(applied)), WithGroup(KeyGroup(applied)), WithGroupLimit[Key](groupLimit))
}

// SetGroupLimit sets how many keys of one group may run at once below PriorityApply; 0 is
// unlimited. Keys already running are not affected.
func (q *Queue[K]) SetGroupLimit(n int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.limit = max(n, 0)
	q.wakeLocked()
}

func (q *Queue[K]) defaultFor(k K) Priority {
	if q.defaultPriority == nil {
		return PriorityPlan
	}
	return q.defaultPriority(k)
}

// Add queues k at its default priority: AddPriority(k, default(k)).
func (q *Queue[K]) Add(k K) { q.AddPriority(k, q.defaultFor(k)) }

// AddPriority queues k at priority p unless it is already queued, in which case it keeps the higher
// of its priority and p. If k is being processed it runs again after Done. A pending AddAfter of k
// is replaced (its priority is kept if higher).
func (q *Queue[K]) AddPriority(k K, p Priority) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.addLocked(k, p.clamp())
}

func (q *Queue[K]) addLocked(k K, p Priority) {
	if q.closed {
		return
	}
	if t, ok := q.timers[k]; ok {
		t.t.Stop()
		delete(q.timers, k)
		p = max(p, t.p)
	}
	if _, ok := q.processing[k]; ok {
		if d, ok := q.dirty[k]; !ok || p > d {
			q.dirty[k] = p
		}
		return
	}
	if e, ok := q.queued[k]; ok {
		if p > e.p {
			q.unlinkLocked(e)
			e.p = p
			q.pushLocked(e)
			q.wakeLocked()
		}
		return
	}
	e := &entry[K]{key: k, p: p}
	if q.group != nil {
		e.group = q.group(k)
	}
	q.queued[k] = e
	q.pushLocked(e)
	q.wakeLocked()
}

func (q *Queue[K]) pushLocked(e *entry[K]) {
	q.seq++
	e.seq = q.seq
	lv := q.levels[e.p]
	f := lv[e.group]
	if f == nil {
		f = &fifo[K]{}
		lv[e.group] = f
	}
	f.push(e)
}

func (q *Queue[K]) unlinkLocked(e *entry[K]) {
	lv := q.levels[e.p]
	f := lv[e.group]
	f.remove(e)
	if f.head == nil {
		delete(lv, e.group)
	}
}

// AddAfter queues k at its default priority after d: AddAfterPriority(k, default(k), d).
func (q *Queue[K]) AddAfter(k K, d time.Duration) { q.AddAfterPriority(k, q.defaultFor(k), d) }

// AddAfterPriority queues k at priority p after d. An earlier pending AddAfter or an Add in the
// meantime replaces it, keeping the higher priority. If k is already queued it runs sooner anyway:
// it only keeps the higher priority.
func (q *Queue[K]) AddAfterPriority(k K, p Priority, d time.Duration) {
	p = p.clamp()
	q.mu.Lock()
	defer q.mu.Unlock()
	if d <= 0 {
		q.addLocked(k, p)
		return
	}
	if q.closed {
		return
	}
	if e, ok := q.queued[k]; ok {
		if p > e.p {
			q.addLocked(k, p)
		}
		return
	}
	if old, ok := q.timers[k]; ok {
		old.t.Stop()
		p = max(p, old.p)
	}
	tm := &timer{p: p}
	tm.t = time.AfterFunc(d, func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		if q.timers[k] == tm {
			delete(q.timers, k)
			q.addLocked(k, tm.p)
		}
	})
	q.timers[k] = tm
}

func (q *Queue[K]) wakeLocked() {
	close(q.cond)
	q.cond = make(chan struct{})
}

func (q *Queue[K]) eligibleLocked(group string, p Priority) bool {
	return p == PriorityApply || q.limit == 0 || group == "" || q.running[group] < q.limit
}

// oldestLocked is the oldest waiting key at priority p whose group is not at its limit.
func (q *Queue[K]) oldestLocked(p Priority) *entry[K] {
	var best *entry[K]
	for g, f := range q.levels[p] {
		if (best == nil || f.head.seq < best.seq) && q.eligibleLocked(g, p) {
			best = f.head
		}
	}
	return best
}

// nextLocked picks the key Get hands out: the oldest of a priority passed over StarvationBound
// times (lowest first), else the oldest of the highest priority with an eligible key.
func (q *Queue[K]) nextLocked() *entry[K] {
	for p := range Priority(numPriorities - 1) {
		if q.passed[p] >= StarvationBound {
			if e := q.oldestLocked(p); e != nil {
				return e
			}
		}
	}
	for p := Priority(numPriorities - 1); p >= 0; p-- {
		if e := q.oldestLocked(p); e != nil {
			return e
		}
	}
	return nil
}

// Get blocks until a key is ready and marks it as processing. It returns false when ctx ends or the
// queue is shut down.
func (q *Queue[K]) Get(ctx context.Context) (K, bool) {
	for {
		q.mu.Lock()
		if q.closed {
			q.mu.Unlock()
			var zero K
			return zero, false
		}
		if e := q.nextLocked(); e != nil {
			q.unlinkLocked(e)
			delete(q.queued, e.key)
			r := running{group: e.group, limited: e.p < PriorityApply && e.group != ""}
			if r.limited {
				q.running[e.group]++
			}
			q.processing[e.key] = r
			// Count the pass over every lower priority that still has an eligible key waiting.
			q.passed[e.p] = 0
			for p := range e.p {
				if q.oldestLocked(p) != nil {
					q.passed[p]++
				} else {
					q.passed[p] = 0
				}
			}
			q.mu.Unlock()
			return e.key, true
		}
		wait := q.cond
		q.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			var zero K
			return zero, false
		}
	}
}

// Done marks k as no longer processing, queueing it again if it was added meanwhile.
func (q *Queue[K]) Done(k K) {
	q.mu.Lock()
	defer q.mu.Unlock()
	r, ok := q.processing[k]
	if !ok {
		return
	}
	delete(q.processing, k)
	if r.limited {
		if q.running[r.group]--; q.running[r.group] <= 0 {
			delete(q.running, r.group)
		}
		q.wakeLocked() // a key of the group may now run
	}
	if p, ok := q.dirty[k]; ok {
		delete(q.dirty, k)
		q.addLocked(k, p)
	}
}

// Len is the number of keys waiting (not counting those being processed or scheduled for later).
func (q *Queue[K]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.queued)
}

// Pending reports whether k is queued, scheduled, or will run again after its current run.
func (q *Queue[K]) Pending(k K) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	_, timer := q.timers[k]
	_, queued := q.queued[k]
	_, dirty := q.dirty[k]
	return queued || dirty || timer
}

// PriorityOf is the priority k waits at, and whether it is waiting (queued, scheduled, or due to
// run again after its current run).
func (q *Queue[K]) PriorityOf(k K) (Priority, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if e, ok := q.queued[k]; ok {
		return e.p, true
	}
	if p, ok := q.dirty[k]; ok {
		return p, true
	}
	if t, ok := q.timers[k]; ok {
		return t.p, true
	}
	return 0, false
}

// Processing reports whether a worker holds k.
func (q *Queue[K]) Processing(k K) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	_, ok := q.processing[k]
	return ok
}

// ShutDown stops handing out keys and drops scheduled ones. Keys being processed may still call Done.
func (q *Queue[K]) ShutDown() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	q.closed = true
	for k, t := range q.timers {
		t.t.Stop()
		delete(q.timers, k)
	}
	q.wakeLocked()
}
