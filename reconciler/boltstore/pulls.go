package boltstore

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	bolt "go.etcd.io/bbolt"

	"github.com/trueup/trueup/reconciler"
)

func pulls(tx *bolt.Tx) *bolt.Bucket  { return tx.Bucket(bucketKV).Bucket(bucketPulls) }
func merges(tx *bolt.Tx) *bolt.Bucket { return tx.Bucket(bucketKV).Bucket(bucketMerges) }

// PutPull records pr under its number, which must be positive.
func (s *Store) PutPull(ctx context.Context, pr reconciler.PullRequest) error {
	if pr.Number <= 0 {
		return fmt.Errorf("put pull request %d: not a pull request number", pr.Number)
	}
	raw, err := json.Marshal(pr)
	if err == nil {
		err = s.update(ctx, func(tx *bolt.Tx) error { return pulls(tx).Put(pullKey(pr.Number), raw) })
	}
	if err != nil {
		return fmt.Errorf("put pull request %d: %w", pr.Number, err)
	}
	return nil
}

// Pull returns the record of pull request number, or an error wrapping reconciler.ErrNotFound.
func (s *Store) Pull(ctx context.Context, number int) (reconciler.PullRequest, error) {
	var pr reconciler.PullRequest
	err := s.view(ctx, func(tx *bolt.Tx) error {
		raw := pulls(tx).Get(pullKey(number))
		if raw == nil {
			return reconciler.ErrNotFound
		}
		return json.Unmarshal(raw, &pr)
	})
	if err != nil {
		return reconciler.PullRequest{}, fmt.Errorf("get pull request %d: %w", number, err)
	}
	return pr, nil
}

// Pulls returns every recorded pull request, sorted by number (keys are decimal, so bolt's byte order
// is not number order: "10" < "9").
func (s *Store) Pulls(ctx context.Context) ([]reconciler.PullRequest, error) {
	var out []reconciler.PullRequest
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return pulls(tx).ForEach(func(k, v []byte) error {
			var pr reconciler.PullRequest
			if err := json.Unmarshal(v, &pr); err != nil {
				return fmt.Errorf("decode %s: %w", k, err)
			}
			out = append(out, pr)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list pull requests: %w", err)
	}
	slices.SortFunc(out, func(a, b reconciler.PullRequest) int { return cmp.Compare(a.Number, b.Number) })
	return out, nil
}

// DeletePull removes the record of pull request number; a missing one is not an error.
func (s *Store) DeletePull(ctx context.Context, number int) error {
	err := s.update(ctx, func(tx *bolt.Tx) error { return pulls(tx).Delete(pullKey(number)) })
	if err != nil {
		return fmt.Errorf("delete pull request %d: %w", number, err)
	}
	return nil
}

// RecordMerge records commit as the merge of pull request pr: commit → decimal pr.
func (s *Store) RecordMerge(ctx context.Context, commit reconciler.Revision, pr int) error {
	if commit == "" || pr <= 0 {
		return fmt.Errorf("record merge %q of pull request %d: empty commit or not a pull request number", commit, pr)
	}
	err := s.update(ctx, func(tx *bolt.Tx) error { return merges(tx).Put([]byte(commit), pullKey(pr)) })
	if err != nil {
		return fmt.Errorf("record merge %s of pull request %d: %w", commit.Short(), pr, err)
	}
	return nil
}

// MergeOf returns the pull request whose merge made commit, or an error wrapping reconciler.ErrNotFound.
func (s *Store) MergeOf(ctx context.Context, commit reconciler.Revision) (int, error) {
	var pr int
	err := s.view(ctx, func(tx *bolt.Tx) error {
		raw := merges(tx).Get([]byte(commit))
		if raw == nil {
			return reconciler.ErrNotFound
		}
		n, err := strconv.Atoi(string(raw))
		if err != nil {
			return fmt.Errorf("decode %q: %w", raw, err)
		}
		pr = n
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("get merge %s: %w", commit.Short(), err)
	}
	return pr, nil
}

// pullKey is the key of pull request n's records: its decimal number.
func pullKey(n int) []byte { return []byte(strconv.Itoa(n)) }
