package boltstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/trueup/trueup/reconciler"
)

// Stack returns the named stack's state, or an error wrapping reconciler.ErrNotFound.
func (s *Store) Stack(ctx context.Context, name string) (reconciler.StackState, error) {
	var st reconciler.StackState
	err := s.view(ctx, func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketStacks).Get([]byte(name))
		if raw == nil {
			return reconciler.ErrNotFound
		}
		return json.Unmarshal(raw, &st)
	})
	if err != nil {
		return reconciler.StackState{}, fmt.Errorf("get stack %s: %w", name, err)
	}
	return st, nil
}

// Stacks returns every stack's state, sorted by name (bolt keeps keys in byte order).
func (s *Store) Stacks(ctx context.Context) ([]reconciler.StackState, error) {
	var out []reconciler.StackState
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketStacks).ForEach(func(k, v []byte) error {
			var st reconciler.StackState
			if err := json.Unmarshal(v, &st); err != nil {
				return fmt.Errorf("decode %s: %w", k, err)
			}
			out = append(out, st)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list stacks: %w", err)
	}
	return out, nil
}

// PutStack writes a stack's state under st.Name, which must not be empty, and appends events to the
// outbox, in one transaction.
func (s *Store) PutStack(ctx context.Context, st reconciler.StackState, events ...reconciler.Event) error {
	if st.Name == "" {
		return errors.New("put stack: empty name")
	}
	raw, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("put stack %s: %w", st.Name, err)
	}
	err = s.update(ctx, func(tx *bolt.Tx) error {
		for _, e := range events {
			if _, err := enqueue(tx, e); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketStacks).Put([]byte(st.Name), raw)
	})
	if err != nil {
		return fmt.Errorf("put stack %s: %w", st.Name, err)
	}
	return nil
}
