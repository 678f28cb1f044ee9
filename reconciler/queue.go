package reconciler

import (
	"context"
	"sync"
	"time"
)

// Queue is a keyed work queue. A key queued twice runs once; a key is never handed to two workers
// at once; a key added while it is being processed is handed out again once it is Done.
// Keys are handed out in the order they were first queued.
type Queue[K comparable] struct {
	mu         sync.Mutex
	cond       chan struct{} // closed and replaced whenever work may be available
	order      []K
	queued     map[K]bool
	processing map[K]bool
	dirty      map[K]bool // re-added while processing
	timers     map[K]*time.Timer
	closed     bool
}

// NewQueue returns an empty queue.
func NewQueue[K comparable]() *Queue[K] {
	return &Queue[K]{
		cond:       make(chan struct{}),
		queued:     map[K]bool{},
		processing: map[K]bool{},
		dirty:      map[K]bool{},
		timers:     map[K]*time.Timer{},
	}
}

// Add queues k unless it is already queued. If k is being processed it runs again after Done.
func (q *Queue[K]) Add(k K) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.addLocked(k)
}

func (q *Queue[K]) addLocked(k K) {
	if q.closed {
		return
	}
	if t, ok := q.timers[k]; ok {
		t.Stop()
		delete(q.timers, k)
	}
	if q.processing[k] {
		q.dirty[k] = true
		return
	}
	if q.queued[k] {
		return
	}
	q.queued[k] = true
	q.order = append(q.order, k)
	q.wakeLocked()
}

// AddAfter queues k after d. An earlier pending AddAfter or an Add in the meantime replaces it.
func (q *Queue[K]) AddAfter(k K, d time.Duration) {
	if d <= 0 {
		q.Add(k)
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || q.queued[k] {
		return
	}
	if t, ok := q.timers[k]; ok {
		t.Stop()
	}
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		if q.timers[k] == t {
			delete(q.timers, k)
			q.addLocked(k)
		}
	})
	q.timers[k] = t
}

func (q *Queue[K]) wakeLocked() {
	close(q.cond)
	q.cond = make(chan struct{})
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
		if len(q.order) > 0 {
			k := q.order[0]
			q.order = q.order[1:]
			delete(q.queued, k)
			q.processing[k] = true
			q.mu.Unlock()
			return k, true
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
	delete(q.processing, k)
	if q.dirty[k] {
		delete(q.dirty, k)
		q.addLocked(k)
	}
}

// Len is the number of keys waiting (not counting those being processed or scheduled for later).
func (q *Queue[K]) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.order)
}

// Pending reports whether k is queued, scheduled, or will run again after its current run.
func (q *Queue[K]) Pending(k K) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	_, timer := q.timers[k]
	return q.queued[k] || q.dirty[k] || timer
}

// Processing reports whether a worker holds k.
func (q *Queue[K]) Processing(k K) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.processing[k]
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
		t.Stop()
		delete(q.timers, k)
	}
	q.wakeLocked()
}
