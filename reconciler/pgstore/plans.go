package pgstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/trueup/trueup/reconciler"
)

// BranchPlan returns the plan of stack on target, or an error wrapping reconciler.ErrNotFound.
func (s *Store) BranchPlan(ctx context.Context, target, stack string) (reconciler.BranchPlan, error) {
	var p reconciler.BranchPlan
	err := s.call(ctx, func(ctx context.Context) error {
		if !storable(target, stack) {
			return reconciler.ErrNotFound // a name PutBranchPlan refuses has no plan
		}
		return getJSON(ctx, s, &p, `SELECT plan FROM {s}branch_plans WHERE target = $1 AND stack = $2`, target, stack)
	})
	if err != nil {
		return reconciler.BranchPlan{}, fmt.Errorf("get plan %s/%s: %w", target, stack, err)
	}
	return p, nil
}

// BranchPlans returns target's plans, sorted by stack in byte order. It reads only target's rows
// (the primary key's prefix).
func (s *Store) BranchPlans(ctx context.Context, target string) ([]reconciler.BranchPlan, error) {
	var out []reconciler.BranchPlan
	err := s.call(ctx, func(ctx context.Context) error {
		if !storable(target) {
			return nil
		}
		var err error
		out, err = queryJSON[reconciler.BranchPlan](ctx, s,
			`SELECT plan FROM {s}branch_plans WHERE target = $1 ORDER BY stack`, target)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list plans of %s: %w", target, err)
	}
	return out, nil
}

// PutBranchPlan writes p under (p.Target, p.Stack), which must be non-empty text without NUL.
func (s *Store) PutBranchPlan(ctx context.Context, p reconciler.BranchPlan) error {
	if p.Target == "" || p.Stack == "" || !storable(p.Target, p.Stack) {
		return fmt.Errorf("put plan %q/%q: invalid plan name: empty, holding NUL or not text", p.Target, p.Stack)
	}
	raw, err := json.Marshal(p)
	if err == nil {
		err = s.write(ctx, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, s.q(`INSERT INTO {s}branch_plans (target, stack, plan) VALUES ($1, $2, $3)
				ON CONFLICT (target, stack) DO UPDATE SET plan = excluded.plan`), p.Target, p.Stack, raw)
			return err
		})
	}
	if err != nil {
		return fmt.Errorf("put plan %s/%s: %w", p.Target, p.Stack, err)
	}
	return nil
}

// DeleteBranchPlans removes target's plans in one statement.
func (s *Store) DeleteBranchPlans(ctx context.Context, target string) error {
	err := s.write(ctx, func(tx pgx.Tx) error {
		if !storable(target) {
			return nil
		}
		_, err := tx.Exec(ctx, s.q(`DELETE FROM {s}branch_plans WHERE target = $1`), target)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete plans of %s: %w", target, err)
	}
	return nil
}
