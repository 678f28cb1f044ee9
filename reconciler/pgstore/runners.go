package pgstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// replicaForgotten is how long a replica's address is kept after it last advertised it: every
// start of a replica is a new holder, so old ones are pruned.
const replicaForgotten = "7 days"

// Advertise records where holder answers runners (its own URL, not a load balancer's), and prunes
// the addresses of holders not seen for a week. It is not fenced: a standby advertises too.
func (s *Store) Advertise(ctx context.Context, holder, address string) error {
	if holder == "" || !storable(holder, address) {
		return fmt.Errorf("advertise %q: empty holder, or not text", holder)
	}
	err := s.call(ctx, func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, s.q(`
			WITH pruned AS (DELETE FROM {s}replicas WHERE seen < clock_timestamp() - interval '`+replicaForgotten+`')
			INSERT INTO {s}replicas (holder, address, seen) VALUES ($1, $2, clock_timestamp())
			ON CONFLICT (holder) DO UPDATE SET address = excluded.address, seen = excluded.seen`), holder, address)
		return err
	})
	if err != nil {
		return fmt.Errorf("advertise %s: %w", holder, err)
	}
	return nil
}

// Address returns the address holder advertised, or "" when it advertised none.
func (s *Store) Address(ctx context.Context, holder string) (string, error) {
	var addr string
	err := s.call(ctx, func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, s.q(`SELECT address FROM {s}replicas WHERE holder = $1`), holder).Scan(&addr)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("address of %s: %w", holder, err)
	}
	return addr, nil
}

// RunnerKey returns the 32-byte key named name, made at random by the first replica that asks:
// every replica of the store gets the same key.
func (s *Store) RunnerKey(ctx context.Context, name string) ([]byte, error) {
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("runner key %s: %w", name, err)
	}
	var key []byte
	err := s.call(ctx, func(ctx context.Context) error {
		if _, err := s.pool.Exec(ctx, s.q(`INSERT INTO {s}runner_keys (name, key) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`), name, fresh); err != nil {
			return err
		}
		return s.pool.QueryRow(ctx, s.q(`SELECT key FROM {s}runner_keys WHERE name = $1`), name).Scan(&key)
	})
	if err != nil {
		return nil, fmt.Errorf("runner key %s: %w", name, err)
	}
	return key, nil
}
