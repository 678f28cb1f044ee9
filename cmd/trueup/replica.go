package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/api"
	"github.com/trueup/trueup/reconciler/lease"
)

// wakeChannel is the PostgreSQL notification channel on which a standby wakes the leader: "poke"
// after a webhook, "intent" after recording a request.
const wakeChannel = "trueup_wake"

const (
	wakePoke   = "poke"
	wakeIntent = "intent"
)

// front is what the HTTP API, the webhooks and the metrics talk to: the reconciler, or a replica
// that hands each call to the reconciler while it leads and to the standby otherwise.
type front interface {
	served
	Push(ctx context.Context, branch string, head reconciler.Revision)
	PullRequest(ctx context.Context, action string, pr reconciler.PullRequest)
	PullComment(ctx context.Context, pr int, id int64)
}

// served is what answers the API and the metrics' scrape-time reads.
type served interface {
	api.Backend
	QueueLen() int
}

var (
	_ front  = (*reconciler.Reconciler)(nil)
	_ front  = (*replica)(nil)
	_ served = (*reconciler.Standby)(nil)
)

// pendingIntent is a recorded intent with the id that removes it once carried out.
type pendingIntent struct {
	ID     int64
	Intent reconciler.Intent
}

// shared is what a replica needs of the store the replicas share, beyond reconciler.Store: the lease,
// the fenced view of the leader, intents and wake-ups.
type shared interface {
	reconciler.Store
	lease.Store
	// Fenced returns a view whose writes are refused (ErrFenced) unless the lease is still holder's at
	// epoch; onFenced is called when one is.
	Fenced(holder string, epoch int64, onFenced func()) reconciler.Store
	// RecordIntent keeps in for the leader and wakes it.
	RecordIntent(ctx context.Context, in reconciler.Intent) error
	// PendingIntents returns the intents not yet carried out, oldest first; DoneIntent removes one.
	PendingIntents(ctx context.Context) ([]pendingIntent, error)
	DoneIntent(ctx context.Context, id int64) error
	// Notify sends payload on channel; Listen calls fn for each payload until ctx ends, and with ""
	// after it (re)connects, since it may have missed some.
	Notify(ctx context.Context, channel, payload string) error
	Listen(ctx context.Context, channel string, fn func(payload string)) error
}

// replica is one of the trueup processes that share a PostgreSQL store. It serves people all the
// time, and runs a reconciler only while it holds the leader's lease.
type replica struct {
	db      shared
	elector *lease.Elector
	standby *reconciler.Standby
	newRec  func(store reconciler.Store) (*reconciler.Reconciler, error)
	log     *slog.Logger
	// term, when set, runs at the start of each term, before its reconciler (adopting the runners
	// of the previous leader), and what it returns at the term's end.
	term func(ctx context.Context, epoch int64) (end func())

	carrying sync.Mutex // one pass over the intents at a time
	mu       sync.RWMutex
	rec      *reconciler.Reconciler // the current term's, nil while standing by
}

// newReplica returns a replica over db; newRec makes the reconciler of each term over the fenced store.
func newReplica(db shared, ttl time.Duration, newRec func(reconciler.Store) (*reconciler.Reconciler, error), log *slog.Logger) (*replica, error) {
	elector, err := lease.NewElector(db, lease.Options{Holder: holderName(), TTL: ttl, Logger: log})
	if err != nil {
		return nil, err
	}
	return &replica{db: db, elector: elector, standby: reconciler.NewStandby(db, db, log), newRec: newRec, log: log}, nil
}

// holderName names this process in the lease: host, pid and a random part, unique across restarts.
func holderName() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// run campaigns for the lease and listens for wake-ups until ctx ends and the last term is over.
func (p *replica) run(ctx context.Context) error {
	listenCtx, stopListening := context.WithCancel(ctx)
	defer stopListening()
	go func() {
		if err := p.db.Listen(listenCtx, wakeChannel, p.wake); err != nil && listenCtx.Err() == nil {
			p.log.Error("listen for wake-ups; relying on polls", "err", err)
		}
	}()
	p.elector.Run(ctx, p.lead)
	return nil
}

// lead is one term as leader: a reconciler over the store fenced at the term's epoch.
func (p *replica) lead(ctx context.Context, l lease.Lease) {
	if p.term != nil {
		defer p.term(ctx, l.Epoch)()
	}
	rec, err := p.newRec(p.db.Fenced(l.Holder, l.Epoch, p.elector.StepDown))
	if err != nil {
		p.log.Error("start the reconciler", "err", err)
		p.elector.StepDown()
		return
	}
	p.mu.Lock()
	p.rec = rec
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.rec = nil
		p.mu.Unlock()
	}()
	go p.carryEvery(ctx, rec)
	if err := rec.Run(ctx); err != nil {
		p.log.Error("reconciler", "err", err)
	}
}

// wake handles a notification: a webhook arrived at a standby, or a request was recorded.
func (p *replica) wake(payload string) {
	rec := p.leader()
	if rec == nil {
		return
	}
	switch payload {
	case wakePoke:
		rec.Poke()
	case wakeIntent:
		go p.carry(context.Background(), rec)
	default: // "" after a reconnect: something may have been missed
		rec.Poke()
		go p.carry(context.Background(), rec)
	}
}

// intentSweep is how often a leader looks for intents whose wake-up it missed.
const intentSweep = 10 * time.Second

// carryEvery carries out the intents recorded while no replica led, as soon as the term's reconciler
// has read main's stacks, and then every intentSweep in case a wake-up was lost.
func (p *replica) carryEvery(ctx context.Context, rec *reconciler.Reconciler) {
	ready := time.NewTicker(100 * time.Millisecond)
	defer ready.Stop()
	for rec.Health().Head == "" {
		select {
		case <-ctx.Done():
			return
		case <-ready.C:
		}
	}
	sweep := time.NewTicker(intentSweep)
	defer sweep.Stop()
	for {
		p.carry(ctx, rec)
		select {
		case <-ctx.Done():
			return
		case <-sweep.C:
		}
	}
}

// carry carries out the recorded intents, oldest first, removing each once done.
func (p *replica) carry(ctx context.Context, rec *reconciler.Reconciler) {
	p.carrying.Lock()
	defer p.carrying.Unlock()
	pending, err := p.db.PendingIntents(ctx)
	if err != nil {
		p.log.Error("read requests recorded for the leader", "err", err)
		return
	}
	for _, in := range pending {
		if p.leader() != rec {
			return // the term ended: the next leader carries the rest
		}
		if err := rec.Carry(ctx, in.Intent); err != nil {
			p.log.Error("carry out a recorded request; it is tried again at the next wake-up", "intent", in.Intent.Kind, "stack", in.Intent.Stack, "err", err)
			continue
		}
		if err := p.db.DoneIntent(ctx, in.ID); err != nil {
			p.log.Error("remove a request carried out", "intent", in.Intent.Kind, "err", err)
		}
	}
}

func (p *replica) leader() *reconciler.Reconciler {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.rec
}

// serving is whom a call goes to now: the reconciler while leading, else the standby.
func (p *replica) serving() served {
	if rec := p.leader(); rec != nil {
		return rec
	}
	return p.standby
}

// leadership is what GET /api/v1/leader answers.
func (p *replica) leadership() api.Leadership {
	st := p.elector.State()
	out := api.Leadership{
		Replicated: true, Self: st.Self, Leading: st.Leading, Leader: st.Lease.Holder, Epoch: st.Lease.Epoch,
		LeaseAgeSeconds: st.Age.Seconds(), Expires: st.Lease.Expires,
	}
	if st.Err != nil {
		out.Error = "store: not answering"
	}
	return out
}

func (p *replica) Stacks(ctx context.Context) ([]reconciler.StackStatus, error) {
	return p.serving().Stacks(ctx)
}

func (p *replica) Stack(ctx context.Context, name string) (reconciler.StackStatus, error) {
	return p.serving().Stack(ctx, name)
}

func (p *replica) Reconcile(ctx context.Context, name string) error {
	return p.serving().Reconcile(ctx, name)
}

func (p *replica) Approve(ctx context.Context, name, rev string) (reconciler.Revision, error) {
	return p.serving().Approve(ctx, name, rev)
}

func (p *replica) Health() reconciler.Health { return p.serving().Health() }

func (p *replica) StoreOK(ctx context.Context) error { return p.db.Ping(ctx) }

func (p *replica) PullPlans(ctx context.Context, number int) ([]reconciler.BranchPlan, error) {
	return p.serving().PullPlans(ctx, number)
}

func (p *replica) QueueLen() int { return p.serving().QueueLen() }

// Push and PullRequest come from webhooks: the leader polls now; a standby wakes the leader.
func (p *replica) Push(ctx context.Context, branch string, head reconciler.Revision) { p.poke(ctx) }

func (p *replica) PullRequest(ctx context.Context, action string, pr reconciler.PullRequest) {
	p.poke(ctx)
}

// PullComment comes from a webhook: the leader reads the comment and answers it; a standby records
// it for the leader, so a command is answered even when it reached the replica that does not lead.
func (p *replica) PullComment(ctx context.Context, pr int, id int64) {
	if rec := p.leader(); rec != nil {
		rec.PullComment(ctx, pr, id)
		return
	}
	p.standby.PullComment(ctx, pr, id)
}

func (p *replica) poke(ctx context.Context) {
	if rec := p.leader(); rec != nil {
		rec.Poke()
		return
	}
	if err := p.db.Notify(ctx, wakeChannel, wakePoke); err != nil {
		p.log.Warn("wake the leader after a webhook; its next poll catches up", "err", err)
	}
}
