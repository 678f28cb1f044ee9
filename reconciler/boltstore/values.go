package boltstore

import (
	"context"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/trueup/trueup/reconciler"
)

// Named buckets live nested under the kv bucket, so a caller's bucket called "stacks" or "outbox"
// never touches trueup's own records.

// Get returns a copy of the value under bucket/key, or an error wrapping reconciler.ErrNotFound
// when the bucket or the key is missing.
func (s *Store) Get(ctx context.Context, bucket, key string) ([]byte, error) {
	var val []byte
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketKV).Bucket([]byte(bucket))
		if b == nil {
			return reconciler.ErrNotFound
		}
		v := b.Get([]byte(key))
		if v == nil {
			return reconciler.ErrNotFound
		}
		val = clone(v)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("get %s/%s: %w", bucket, key, err)
	}
	return val, nil
}

// Put writes value under bucket/key, creating the bucket on first use. Bucket and key must not be empty.
func (s *Store) Put(ctx context.Context, bucket, key string, value []byte) error {
	if bucket == "" || key == "" {
		return fmt.Errorf("put %q/%q: empty bucket or key", bucket, key)
	}
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b, err := tx.Bucket(bucketKV).CreateBucketIfNotExists([]byte(bucket))
		if err != nil {
			return err
		}
		// bolt reads value until commit, which happens before Put returns: no copy needed.
		return b.Put([]byte(key), value)
	})
	if err != nil {
		return fmt.Errorf("put %s/%s: %w", bucket, key, err)
	}
	return nil
}

// Delete removes bucket/key; a missing bucket or key is not an error.
func (s *Store) Delete(ctx context.Context, bucket, key string) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketKV).Bucket([]byte(bucket))
		if b == nil {
			return nil
		}
		return b.Delete([]byte(key))
	})
	if err != nil {
		return fmt.Errorf("delete %s/%s: %w", bucket, key, err)
	}
	return nil
}

// List returns copies of every key and value in bucket; a missing bucket gives an empty map.
func (s *Store) List(ctx context.Context, bucket string) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketKV).Bucket([]byte(bucket))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			if v == nil {
				return errors.New("unexpected nested bucket " + string(k))
			}
			out[string(k)] = clone(v)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", bucket, err)
	}
	return out, nil
}
