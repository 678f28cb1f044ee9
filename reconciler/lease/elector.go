package lease

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/trueup/trueup/reconciler"
)

// DefaultTTL is how long a lease lasts without renewal: the longest a dead leader's work waits.
const DefaultTTL = 15 * time.Second

// ErrStepDown is the cause of a leader's context when it stops leading before its own shutdown:
// its lease ran out, a renewal was refused, or a store refused one of its writes as fenced. It wraps
// reconciler.ErrFenced, so the reconciler interrupts its Terraform runs at once.
var ErrStepDown = fmt.Errorf("stepped down: %w", reconciler.ErrFenced)

// Options configure an Elector. Zero values get the documented defaults.
type Options struct {
	// Holder names this replica in the lease (required; unique per process).
	Holder string
	// TTL is the lease's time to live (default DefaultTTL).
	TTL time.Duration
	// Renew is how often the leader renews (default TTL/3, so two renewals may fail before it ends).
	Renew time.Duration
	// Retry is how often a standby checks whether the lease is free (default TTL/5).
	Retry time.Duration
	// CallTimeout bounds one call to the store (default Renew).
	CallTimeout time.Duration
	// Logger receives the transitions (default: discarded).
	Logger *slog.Logger
}

// State is what an Elector last knew of the lease, for status pages and metrics.
type State struct {
	// Self is this replica's holder name; Leading is true while it leads.
	Self    string `json:"self"`
	Leading bool   `json:"leading"`
	// Lease is the lease as last read or written (the leader's own, or the one a standby saw).
	Lease Lease `json:"lease"`
	// Age is how long ago the lease was last renewed, as of the last read, plus the time since.
	Age time.Duration `json:"age"`
	// Err is the last error talking to the store, nil once a call succeeded again.
	Err error `json:"-"`
}

// Elector campaigns for the lease and runs the leader's work while it holds it.
type Elector struct {
	store Store
	opts  Options

	mu       sync.Mutex
	state    State
	seen     time.Time // local time of the last read or write of state.Lease
	term     context.CancelCauseFunc
	errShown bool
}

// NewElector returns an Elector over store. It does nothing until Run.
func NewElector(store Store, opts Options) (*Elector, error) {
	if opts.Holder == "" {
		return nil, errors.New("new elector: a holder name is required")
	}
	if opts.TTL <= 0 {
		opts.TTL = DefaultTTL
	}
	if opts.Renew <= 0 {
		opts.Renew = opts.TTL / 3
	}
	if opts.Renew >= opts.TTL {
		return nil, fmt.Errorf("new elector: renew interval %s must be shorter than the TTL %s", opts.Renew, opts.TTL)
	}
	if opts.Retry <= 0 {
		opts.Retry = opts.TTL / 5
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = opts.Renew
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Elector{store: store, opts: opts, state: State{Self: opts.Holder}}, nil
}

// State returns what the Elector last knew of the lease.
func (e *Elector) State() State {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.state
	if !e.seen.IsZero() {
		s.Age += time.Since(e.seen)
	}
	return s
}

// StepDown ends the current term at once, as a lost lease would: a store that refused a write as
// fenced knows before the next renewal does. It does nothing on a standby.
func (e *Elector) StepDown() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.term != nil {
		e.term(ErrStepDown)
	}
}

// Run campaigns until ctx ends. Each time this replica takes the lease it calls lead with a context
// that ends, with cause ErrStepDown, as soon as the lease may no longer be its own (at the latest
// when the TTL has passed since the last renewal it sent), and with ctx's cause when ctx ends. The
// lease is renewed until lead returns, also after ctx ended (lead may be finishing its work within
// a shutdown grace), and released when lead returns while it is still held, so a standby takes over
// at once. lead is called again after a later election. Run returns when ctx has ended and no term
// is running.
func (e *Elector) Run(ctx context.Context, lead func(ctx context.Context, l Lease)) {
	for ctx.Err() == nil {
		sent := time.Now()
		l, won := e.acquire(ctx)
		if !won {
			sleep(ctx, e.opts.Retry)
			continue
		}
		e.serveTerm(ctx, l, sent, lead)
	}
}

// acquire tries once to take the lease, recording what it saw.
func (e *Elector) acquire(ctx context.Context) (Lease, bool) {
	callCtx, cancel := context.WithTimeout(ctx, e.opts.CallTimeout)
	defer cancel()
	l, won, err := e.store.Acquire(callCtx, e.opts.Holder, e.opts.TTL)
	if err != nil {
		e.recordErr("acquire the lease", err)
		return Lease{}, false
	}
	var now time.Time
	if !won {
		// Age needs the database's clock; Current costs a read, only a standby pays it.
		cur, dbNow, err := e.store.Current(callCtx)
		if err == nil {
			l, now = cur, dbNow
		}
	}
	e.observe(l, false, now)
	return l, won
}

// serveTerm runs lead while renewing the lease, and returns once lead has returned.
func (e *Elector) serveTerm(ctx context.Context, l Lease, sent time.Time, lead func(context.Context, Lease)) {
	termCtx, endTerm := context.WithCancelCause(ctx)
	defer endTerm(nil)
	e.mu.Lock()
	e.term = endTerm
	e.mu.Unlock()
	e.observe(l, true, time.Time{})
	e.opts.Logger.Info("leading", "holder", e.opts.Holder, "epoch", l.Epoch, "ttl", e.opts.TTL)

	done := make(chan struct{})
	go func() {
		defer close(done)
		lead(termCtx, l)
	}()
	held := e.renewUntil(done, termCtx, endTerm, l, sent)

	e.mu.Lock()
	e.term = nil
	e.mu.Unlock()
	e.observe(l, false, time.Time{})
	if held {
		releaseCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), e.opts.CallTimeout)
		defer cancel()
		if err := e.store.Release(releaseCtx, e.opts.Holder, l.Epoch); err != nil {
			e.opts.Logger.Warn("release the lease; a standby takes over when it runs out", "epoch", l.Epoch, "err", err)
		} else {
			e.opts.Logger.Info("lease released", "epoch", l.Epoch)
		}
		return
	}
	e.opts.Logger.Warn("stepped down: standby", "epoch", l.Epoch, "cause", context.Cause(termCtx))
}

// renewUntil renews l until done is closed, ending the term when the lease is lost or its deadline
// passes unrenewed. It reports whether the lease was still held when done closed.
func (e *Elector) renewUntil(done <-chan struct{}, termCtx context.Context, endTerm context.CancelCauseFunc, l Lease, sent time.Time) bool {
	deadline := time.NewTimer(time.Until(e.deadline(sent)))
	defer deadline.Stop()
	tick := time.NewTicker(e.opts.Renew)
	defer tick.Stop()
	held := true
	for {
		select {
		case <-done:
			return held && !errors.Is(context.Cause(termCtx), ErrStepDown)
		case <-deadline.C:
			if held {
				e.opts.Logger.Error("lease deadline passed without a renewal: stepping down", "epoch", l.Epoch)
			}
			held = false
			endTerm(ErrStepDown)
		case <-tick.C:
			if !held || errors.Is(context.Cause(termCtx), ErrStepDown) {
				held = false
				continue // the term is over; wait for lead to return
			}
			sent := time.Now()
			renewed, err := e.renew(l)
			switch {
			case errors.Is(err, ErrLost):
				e.opts.Logger.Error("lease lost: stepping down", "epoch", l.Epoch, "err", err)
				held = false
				endTerm(ErrStepDown)
			case err != nil:
				e.recordErr("renew the lease", err) // the deadline decides; the next tick tries again
			default:
				l = renewed
				e.observe(l, true, time.Time{})
				deadline.Reset(time.Until(e.deadline(sent)))
			}
		}
	}
}

// deadline is when a lease renewed by a call sent at sent must be taken as lost: a tenth of the TTL
// before the database can let another replica take it, so the two terms never overlap even when
// timers of both replicas fire late or the clocks run at slightly different rates.
func (e *Elector) deadline(sent time.Time) time.Time {
	return sent.Add(e.opts.TTL - e.opts.TTL/10)
}

// renew renews l once, with a context that outlives the daemon's own: a leader finishing its work
// after shutdown began still needs its lease.
func (e *Elector) renew(l Lease) (Lease, error) {
	ctx, cancel := context.WithTimeout(context.Background(), e.opts.CallTimeout)
	defer cancel()
	return e.store.Renew(ctx, e.opts.Holder, l.Epoch, e.opts.TTL)
}

// observe records the lease as last seen; dbNow, when known, dates the lease's age.
func (e *Elector) observe(l Lease, leading bool, dbNow time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.state.Err != nil {
		e.opts.Logger.Info("lease store reachable again")
	}
	e.state.Lease, e.state.Leading, e.state.Err, e.errShown = l, leading, nil, false
	e.seen = time.Now()
	switch {
	case leading || dbNow.IsZero():
		e.state.Age = 0
	default:
		e.state.Age = max(0, dbNow.Sub(l.Renewed))
	}
}

// recordErr logs a store failure once until a call succeeds again.
func (e *Elector) recordErr(op string, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.state.Err = err
	if !e.errShown {
		e.opts.Logger.Error(op+"; retrying", "err", err)
		e.errShown = true
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
