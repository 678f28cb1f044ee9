package reconciler

import (
	"sync"
	"time"
)

// pollHealth is the outcome of the polls of the remote, for readiness and for logging a failure
// once and its recovery once. It has its own lock.
type pollHealth struct {
	mu   sync.Mutex
	last time.Time // the last successful poll
	err  error     // the last poll's error, nil when it succeeded
}

// record keeps a poll's outcome and returns the previous poll's error.
func (p *pollHealth) record(err error, now time.Time) (prev error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	prev, p.err = p.err, err
	if err == nil {
		p.last = now
	}
	return prev
}

// state returns the last successful poll and the last poll's error.
func (p *pollHealth) state() (last time.Time, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last, p.err
}
