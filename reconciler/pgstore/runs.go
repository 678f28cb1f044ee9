package pgstore

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/trueup/trueup/reconciler"
)

// StartRun records r as in flight under r.ID, which must not be empty. Starting the same ID again overwrites it.
func (s *Store) StartRun(ctx context.Context, r reconciler.RunRecord) error {
	if r.ID == "" || !storable(r.ID, r.Stack) {
		return fmt.Errorf("start run %q: empty id, or not text", r.ID)
	}
	raw, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("start run %s: %w", r.ID, err)
	}
	err = s.write(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, s.q(`INSERT INTO {s}inflight (id, stack, record) VALUES ($1, $2, $3)
			ON CONFLICT (id) DO UPDATE SET stack = excluded.stack, record = excluded.record`), r.ID, r.Stack, raw)
		return err
	})
	if err != nil {
		return fmt.Errorf("start run %s: %w", r.ID, err)
	}
	return nil
}

// FinishRun removes r.ID from the in-flight runs and appends r to r.Stack's history in one
// transaction, keeping the newest HistoryLimit. Finishing a run already in the history replaces it
// in place, so a retry after an ambiguous failure is safe. The finishes of one stack take turns
// (they lock the stack's run_heads row), so concurrent ones trim the history exactly.
func (s *Store) FinishRun(ctx context.Context, r reconciler.RunRecord) error {
	if r.ID == "" || r.Stack == "" || !storable(r.ID, r.Stack) {
		return fmt.Errorf("finish run %q of stack %q: empty id or stack, or not text", r.ID, r.Stack)
	}
	raw, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("finish run %s: %w", r.ID, err)
	}
	err = s.write(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, s.q(`DELETE FROM {s}inflight WHERE id = $1`), r.ID); err != nil {
			return err
		}
		var seq int64
		err := tx.QueryRow(ctx, s.q(`INSERT INTO {s}run_heads AS h (stack, seq) VALUES ($1, 1)
			ON CONFLICT (stack) DO UPDATE SET seq = h.seq + 1 RETURNING seq`), r.Stack).Scan(&seq)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, s.q(`INSERT INTO {s}runs (stack, seq, id, record) VALUES ($1, $2, $3, $4)
			ON CONFLICT (stack, id) DO UPDATE SET record = excluded.record`), r.Stack, seq, r.ID, raw)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, s.q(`DELETE FROM {s}runs WHERE stack = $1 AND seq <= (
			SELECT seq FROM {s}runs WHERE stack = $1 ORDER BY seq DESC OFFSET $2 LIMIT 1)`), r.Stack, HistoryLimit)
		return err
	})
	if err != nil {
		return fmt.Errorf("finish run %s: %w", r.ID, err)
	}
	return nil
}

// InFlight returns the runs started and not finished, oldest first (by Started, then ID).
func (s *Store) InFlight(ctx context.Context) ([]reconciler.RunRecord, error) {
	var out []reconciler.RunRecord
	err := s.call(ctx, func(ctx context.Context) error {
		var err error
		out, err = queryJSON[reconciler.RunRecord](ctx, s, `SELECT record FROM {s}inflight`)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list in-flight runs: %w", err)
	}
	// Sorted here: Started keeps nanoseconds in the JSON, a timestamp column would not.
	slices.SortFunc(out, func(a, b reconciler.RunRecord) int {
		return cmp.Or(a.Started.Compare(b.Started), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// Runs returns a stack's finished runs, newest first, at most limit (all kept runs when limit <= 0).
func (s *Store) Runs(ctx context.Context, stack string, limit int) ([]reconciler.RunRecord, error) {
	var out []reconciler.RunRecord
	err := s.call(ctx, func(ctx context.Context) error {
		if !storable(stack) {
			return nil
		}
		var err error
		out, err = queryJSON[reconciler.RunRecord](ctx, s,
			`SELECT record FROM {s}runs WHERE stack = $1 ORDER BY seq DESC LIMIT $2`, stack, sqlLimit(limit))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list runs of %s: %w", stack, err)
	}
	return out, nil
}
