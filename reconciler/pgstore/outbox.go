package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"

	"github.com/trueup/trueup/reconciler"
)

// Enqueue appends e to the outbox and returns its sequence number. Numbers come from a counter row
// locked until the transaction ends: they are committed in order and never reused.
func (s *Store) Enqueue(ctx context.Context, e reconciler.Event) (uint64, error) {
	var seq uint64
	err := s.write(ctx, func(tx pgx.Tx) error {
		var err error
		seq, err = s.enqueue(ctx, tx, e)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("enqueue %s event for %s: %w", e.Kind, e.Stack, err)
	}
	return seq, nil
}

// enqueue appends e to the outbox in tx.
func (s *Store) enqueue(ctx context.Context, tx pgx.Tx, e reconciler.Event) (uint64, error) {
	var seq int64
	err := tx.QueryRow(ctx, s.q(`UPDATE {s}counters SET value = value + 1 WHERE name = 'outbox' RETURNING value`)).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("next outbox sequence: %w", err)
	}
	e.Seq = uint64(seq)
	raw, err := json.Marshal(e)
	if err != nil {
		return 0, err
	}
	_, err = tx.Exec(ctx, s.q(`INSERT INTO {s}outbox (seq, event) VALUES ($1, $2)`), seq, raw)
	return e.Seq, err
}

// Outbox returns undelivered events in the order they were enqueued, with Seq set, at most limit
// (all of them when limit <= 0).
func (s *Store) Outbox(ctx context.Context, limit int) ([]reconciler.Event, error) {
	var events []reconciler.Event
	err := s.call(ctx, func(ctx context.Context) error {
		rows, err := s.pool.Query(ctx, s.q(`SELECT seq, event FROM {s}outbox ORDER BY seq LIMIT $1`), sqlLimit(limit))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				seq int64
				raw []byte
				e   reconciler.Event
			)
			if err := rows.Scan(&seq, &raw); err != nil {
				return err
			}
			if err := json.Unmarshal(raw, &e); err != nil {
				return fmt.Errorf("decode event %d: %w", seq, err)
			}
			e.Seq = uint64(seq) // the column is the truth
			events = append(events, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	return events, nil
}

// Ack removes a delivered event from the outbox. Acking a sequence that is not there is not an error.
func (s *Store) Ack(ctx context.Context, seq uint64) error {
	err := s.write(ctx, func(tx pgx.Tx) error {
		if seq > math.MaxInt64 {
			return nil // never handed out
		}
		_, err := tx.Exec(ctx, s.q(`DELETE FROM {s}outbox WHERE seq = $1`), int64(seq))
		return err
	})
	if err != nil {
		return fmt.Errorf("ack event %d: %w", seq, err)
	}
	return nil
}

// sqlLimit is a LIMIT for limit, where limit <= 0 means none (NULL).
func sqlLimit(limit int) *int64 {
	if limit <= 0 {
		return nil
	}
	n := int64(limit)
	return &n
}
