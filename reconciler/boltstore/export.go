package boltstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/trueup/trueup/reconciler"
)

// The methods below list what the reconciler.Store contract only looks up by key, so that `trueup
// store copy` can move everything to another store.

// PlanTargets returns every target (a branch, or "pr:N") that has plans, sorted, each once.
func (s *Store) PlanTargets(ctx context.Context) ([]string, error) {
	var out []string
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return plans(tx).ForEach(func(k, _ []byte) error {
			target, _, ok := strings.Cut(string(k), planKeySep)
			if ok && (len(out) == 0 || out[len(out)-1] != target) {
				out = append(out, target)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list plan targets: %w", err)
	}
	return out, nil
}

// Merges returns every recorded merge: the merge commit and its pull request.
func (s *Store) Merges(ctx context.Context) (map[reconciler.Revision]int, error) {
	out := map[reconciler.Revision]int{}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return merges(tx).ForEach(func(k, v []byte) error {
			n, err := strconv.Atoi(string(v))
			if err != nil {
				return fmt.Errorf("decode merge %q: %w", k, err)
			}
			out[reconciler.Revision(k)] = n
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list merges: %w", err)
	}
	return out, nil
}
