package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"

	"github.com/trueup/trueup/git/deliveries"
	"github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/pgstore"
)

// pgShared adapts the PostgreSQL store to what a replica needs of it (shared).
type pgShared struct {
	*pgstore.Store
	log *slog.Logger
}

var (
	_ shared     = (*pgShared)(nil)
	_ copyTarget = (*pgShared)(nil)
)

// openShared opens the PostgreSQL store. The connection string and its password are secrets:
// they are registered with sec's redaction before anything can print them.
func openShared(ctx context.Context, dsn, schema string, sec *secrets, log *slog.Logger) (*pgShared, error) {
	if cfg, err := pgx.ParseConfig(dsn); err == nil && cfg.Password != "" {
		sec.known.Add(cfg.Password)
	}
	db, err := pgstore.Open(ctx, dsn, pgstore.Options{Schema: schema, Logger: log})
	if err != nil {
		return nil, err
	}
	return &pgShared{Store: db, log: log}, nil
}

// Fenced is the store as the leader at epoch writes it.
func (s *pgShared) Fenced(holder string, epoch int64, onFenced func()) reconciler.Store {
	return s.Store.Fenced(pgstore.Fence{Holder: holder, Epoch: epoch, OnFenced: onFenced})
}

// RecordIntent keeps in for the leader and wakes it; the intent is kept even when the wake-up is
// lost (the leader reads every intent when a term starts and after a reconnect).
func (s *pgShared) RecordIntent(ctx context.Context, in reconciler.Intent) error {
	rec := pgstore.Intent{Kind: string(in.Kind), Stack: in.Stack, Revision: string(in.Revision), PullRequest: in.PullRequest, Comment: in.Comment}
	if _, err := s.AddIntent(ctx, rec); err != nil {
		return err
	}
	if err := s.Notify(ctx, wakeChannel, wakeIntent); err != nil {
		s.log.Warn("wake the leader; it finds the request at its next wake-up", "err", err)
	}
	return nil
}

// PendingIntents returns the intents not carried out yet, oldest first.
func (s *pgShared) PendingIntents(ctx context.Context) ([]pendingIntent, error) {
	ins, err := s.Intents(ctx)
	if err != nil {
		return nil, fmt.Errorf("read intents: %w", err)
	}
	out := make([]pendingIntent, 0, len(ins))
	for _, in := range ins {
		out = append(out, pendingIntent{ID: in.ID, Intent: reconciler.Intent{
			Kind: reconciler.IntentKind(in.Kind), Stack: in.Stack, Revision: reconciler.Revision(in.Revision),
			PullRequest: in.PullRequest, Comment: in.Comment,
		}})
	}
	return out, nil
}

// DoneIntent removes an intent carried out.
func (s *pgShared) DoneIntent(ctx context.Context, id int64) error { return s.DeleteIntent(ctx, id) }

// deliveries records webhook deliveries where every replica sees them.
func (s *pgShared) deliveries(source string) deliveries.Shared {
	return func(ctx context.Context, id string) (bool, error) { return s.RecordDelivery(ctx, source, id) }
}
