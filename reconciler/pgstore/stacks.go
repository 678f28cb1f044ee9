package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/trueup/trueup/reconciler"
)

// Stack returns the named stack's state, or an error wrapping reconciler.ErrNotFound.
func (s *Store) Stack(ctx context.Context, name string) (reconciler.StackState, error) {
	var st reconciler.StackState
	err := s.call(ctx, func(ctx context.Context) error {
		if !storable(name) {
			return reconciler.ErrNotFound
		}
		return getJSON(ctx, s, &st, `SELECT state FROM {s}stacks WHERE name = $1`, name)
	})
	if err != nil {
		return reconciler.StackState{}, fmt.Errorf("get stack %s: %w", name, err)
	}
	return st, nil
}

// Stacks returns every stack's state, sorted by name in byte order.
func (s *Store) Stacks(ctx context.Context) ([]reconciler.StackState, error) {
	var out []reconciler.StackState
	err := s.call(ctx, func(ctx context.Context) error {
		var err error
		out, err = queryJSON[reconciler.StackState](ctx, s, `SELECT state FROM {s}stacks ORDER BY name`)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list stacks: %w", err)
	}
	return out, nil
}

// PutStack writes a stack's state under st.Name, which must not be empty, and appends events to the
// outbox, in one transaction.
func (s *Store) PutStack(ctx context.Context, st reconciler.StackState, events ...reconciler.Event) error {
	if st.Name == "" || !storable(st.Name) {
		return fmt.Errorf("put stack %q: empty name, or not text", st.Name)
	}
	raw, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("put stack %s: %w", st.Name, err)
	}
	err = s.write(ctx, func(tx pgx.Tx) error {
		for _, e := range events {
			if _, err := s.enqueue(ctx, tx, e); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, s.q(`INSERT INTO {s}stacks (name, state) VALUES ($1, $2)
			ON CONFLICT (name) DO UPDATE SET state = excluded.state`), st.Name, raw)
		return err
	})
	if err != nil {
		return fmt.Errorf("put stack %s: %w", st.Name, err)
	}
	return nil
}

// queryJSON runs a query whose first column is a JSON record, and decodes every row as T.
func queryJSON[T any](ctx context.Context, s *Store, query string, args ...any) ([]T, error) {
	rows, err := s.pool.Query(ctx, s.q(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			return nil, err
		}
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("decode record %d: %w", len(out)+1, err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// getJSON runs a query for one JSON record and decodes it into v; no row is reconciler.ErrNotFound.
func getJSON(ctx context.Context, s *Store, v any, query string, args ...any) error {
	var raw []byte
	err := s.pool.QueryRow(ctx, s.q(query), args...).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return reconciler.ErrNotFound
	}
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}
