package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"

	"github.com/trueup/trueup/reconciler"
)

// PutPull records pr under its number, which must be positive.
func (s *Store) PutPull(ctx context.Context, pr reconciler.PullRequest) error {
	if pr.Number <= 0 || pr.Number > math.MaxInt32 {
		return fmt.Errorf("put pull request %d: not a pull request number", pr.Number)
	}
	raw, err := json.Marshal(pr)
	if err == nil {
		err = s.write(ctx, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, s.q(`INSERT INTO {s}pulls (number, pull) VALUES ($1, $2)
				ON CONFLICT (number) DO UPDATE SET pull = excluded.pull`), pr.Number, raw)
			return err
		})
	}
	if err != nil {
		return fmt.Errorf("put pull request %d: %w", pr.Number, err)
	}
	return nil
}

// Pull returns the record of pull request number, or an error wrapping reconciler.ErrNotFound.
func (s *Store) Pull(ctx context.Context, number int) (reconciler.PullRequest, error) {
	var pr reconciler.PullRequest
	err := s.call(ctx, func(ctx context.Context) error {
		if number <= 0 || number > math.MaxInt32 {
			return reconciler.ErrNotFound
		}
		return getJSON(ctx, s, &pr, `SELECT pull FROM {s}pulls WHERE number = $1`, number)
	})
	if err != nil {
		return reconciler.PullRequest{}, fmt.Errorf("get pull request %d: %w", number, err)
	}
	return pr, nil
}

// Pulls returns every recorded pull request, sorted by number.
func (s *Store) Pulls(ctx context.Context) ([]reconciler.PullRequest, error) {
	var out []reconciler.PullRequest
	err := s.call(ctx, func(ctx context.Context) error {
		var err error
		out, err = queryJSON[reconciler.PullRequest](ctx, s, `SELECT pull FROM {s}pulls ORDER BY number`)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list pull requests: %w", err)
	}
	return out, nil
}

// DeletePull removes the record of pull request number; a missing one is not an error.
func (s *Store) DeletePull(ctx context.Context, number int) error {
	err := s.write(ctx, func(tx pgx.Tx) error {
		if number <= 0 || number > math.MaxInt32 {
			return nil
		}
		_, err := tx.Exec(ctx, s.q(`DELETE FROM {s}pulls WHERE number = $1`), number)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete pull request %d: %w", number, err)
	}
	return nil
}

// RecordMerge records commit as the merge of pull request pr, replacing an earlier record of commit.
func (s *Store) RecordMerge(ctx context.Context, commit reconciler.Revision, pr int) error {
	if commit == "" || !storable(string(commit)) || pr <= 0 || pr > math.MaxInt32 {
		return fmt.Errorf("record merge %q of pull request %d: empty commit or not a pull request number", commit, pr)
	}
	err := s.write(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, s.q(`INSERT INTO {s}merges (merge_commit, pull) VALUES ($1, $2)
			ON CONFLICT (merge_commit) DO UPDATE SET pull = excluded.pull`), string(commit), pr)
		return err
	})
	if err != nil {
		return fmt.Errorf("record merge %s of pull request %d: %w", commit.Short(), pr, err)
	}
	return nil
}

// MergeOf returns the pull request whose merge made commit, or an error wrapping reconciler.ErrNotFound.
func (s *Store) MergeOf(ctx context.Context, commit reconciler.Revision) (int, error) {
	var pr int
	err := s.call(ctx, func(ctx context.Context) error {
		if !storable(string(commit)) {
			return reconciler.ErrNotFound
		}
		err := s.pool.QueryRow(ctx, s.q(`SELECT pull FROM {s}merges WHERE merge_commit = $1`), string(commit)).Scan(&pr)
		if errors.Is(err, pgx.ErrNoRows) {
			return reconciler.ErrNotFound
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("get merge %s: %w", commit.Short(), err)
	}
	return pr, nil
}
