package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Listen's reconnect backoff: doubling from listenRetryMin up to listenRetryMax.
const (
	listenRetryMin = 100 * time.Millisecond
	listenRetryMax = 5 * time.Second
)

// Notify sends payload on channel to every session listening on it (NOTIFY, through pg_notify).
// A payload must be shorter than 8000 bytes.
func (s *Store) Notify(ctx context.Context, channel, payload string) error {
	err := s.call(ctx, func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, channel, payload)
		return err
	})
	if err != nil {
		return fmt.Errorf("notify %s: %w", channel, err)
	}
	return nil
}

// Listen calls fn with the payload of every notification on channel until ctx ends or the store
// closes, then returns ctx's error (or the closed store's). It holds one connection of its own,
// outside the pool. When that connection breaks (the server restarts, the network drops) it
// reconnects with a capped backoff, logging the failures; notifications sent while it was away
// are lost, so each time it starts listening, the first time too, it calls fn("") for the caller
// to catch up on what it may have missed. fn runs in Listen's goroutine: notifications wait while
// it runs.
func (s *Store) Listen(ctx context.Context, channel string, fn func(payload string)) error {
	if err := s.usable(ctx); err != nil {
		return fmt.Errorf("listen %s: %w", channel, err)
	}
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.closing, cancel)() // Close of the store ends it too

	backoff := listenRetryMin
	for {
		err := s.listenOnce(lctx, channel, fn, func() { backoff = listenRetryMin })
		if lctx.Err() != nil {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("listen %s: %w", channel, err)
			}
			return fmt.Errorf("listen %s: %w", channel, errClosed)
		}
		s.log.Warn("listen: connection lost; reconnecting", "channel", channel, "retry_in", backoff, "err", s.scrub(err))
		select {
		case <-lctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, listenRetryMax)
	}
}

// listenOnce connects, listens on channel, calls listening and fn(""), then fn for every
// notification until the connection or ctx fails.
func (s *Store) listenOnce(ctx context.Context, channel string, fn func(string), listening func()) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return err
	}
	listening()
	fn("")
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		fn(n.Payload)
	}
}
