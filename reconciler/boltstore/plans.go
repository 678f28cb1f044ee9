package boltstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/trueup/trueup/reconciler"
)

// planKeySep joins a plan's target and stack in its key. Neither name holds a NUL byte, so two pairs
// never share a key, and the plans of one target are the keys that start with target+planKeySep:
// bolt keeps keys sorted, so they are one contiguous run found by a cursor seek, in stack order.
const planKeySep = "\x00"

// planKey is the key of the plan of stack on target, or an error when a name is empty or holds NUL.
func planKey(target, stack string) ([]byte, error) {
	if target == "" || stack == "" || strings.Contains(target, planKeySep) || strings.Contains(stack, planKeySep) {
		return nil, fmt.Errorf("invalid plan name %q/%q: empty or holding NUL", target, stack)
	}
	return []byte(target + planKeySep + stack), nil
}

// targetPrefix is the key prefix of target's plans.
func targetPrefix(target string) []byte { return []byte(target + planKeySep) }

// plans is the bucket of branch plans.
func plans(tx *bolt.Tx) *bolt.Bucket { return tx.Bucket(bucketKV).Bucket(bucketPlans) }

// BranchPlan returns the plan of stack on target, or an error wrapping reconciler.ErrNotFound.
func (s *Store) BranchPlan(ctx context.Context, target, stack string) (reconciler.BranchPlan, error) {
	var p reconciler.BranchPlan
	err := s.view(ctx, func(tx *bolt.Tx) error {
		// Names PutBranchPlan refuses (empty, holding NUL) make keys it never writes: not found.
		raw := plans(tx).Get([]byte(target + planKeySep + stack))
		if raw == nil {
			return reconciler.ErrNotFound
		}
		return json.Unmarshal(raw, &p)
	})
	if err != nil {
		return reconciler.BranchPlan{}, fmt.Errorf("get plan %s/%s: %w", target, stack, err)
	}
	return p, nil
}

// BranchPlans returns target's plans, sorted by stack. It seeks to target's keys and reads only them.
func (s *Store) BranchPlans(ctx context.Context, target string) ([]reconciler.BranchPlan, error) {
	var out []reconciler.BranchPlan
	err := s.view(ctx, func(tx *bolt.Tx) error {
		prefix := targetPrefix(target)
		c := plans(tx).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var p reconciler.BranchPlan
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("decode %q: %w", k, err)
			}
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list plans of %s: %w", target, err)
	}
	return out, nil
}

// PutBranchPlan writes p under (p.Target, p.Stack).
func (s *Store) PutBranchPlan(ctx context.Context, p reconciler.BranchPlan) error {
	key, err := planKey(p.Target, p.Stack)
	if err == nil {
		var raw []byte
		if raw, err = json.Marshal(p); err == nil {
			err = s.update(ctx, func(tx *bolt.Tx) error { return plans(tx).Put(key, raw) })
		}
	}
	if err != nil {
		return fmt.Errorf("put plan %s/%s: %w", p.Target, p.Stack, err)
	}
	return nil
}

// DeleteBranchPlans removes target's plans in one transaction, seeking to them as BranchPlans does.
func (s *Store) DeleteBranchPlans(ctx context.Context, target string) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := plans(tx)
		prefix := targetPrefix(target)
		// Collected first: deleting under a moving cursor can skip the key after each deleted one.
		var keys [][]byte
		c := b.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			keys = append(keys, clone(k))
		}
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete plans of %s: %w", target, err)
	}
	return nil
}
