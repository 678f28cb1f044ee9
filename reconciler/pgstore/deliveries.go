package pgstore

import (
	"context"
	"fmt"
	"time"
)

// Delivery records are kept this long, then pruned: a forge redelivers within hours, not days.
const (
	DeliveryRetention = 7 * 24 * time.Hour
	pruneEvery        = time.Hour
)

// RecordDelivery records webhook delivery id from source (a forge) and reports whether it is fresh:
// false when any replica recorded it before, so a delivery is acted on once however many replicas
// receive it. It is not fenced: a standby records deliveries too. Now and then (hourly per process)
// it also prunes the records older than DeliveryRetention.
func (s *Store) RecordDelivery(ctx context.Context, source, id string) (fresh bool, err error) {
	if source == "" || id == "" || !storable(source, id) {
		return false, fmt.Errorf("record delivery %q of %q: empty, or not text", id, source)
	}
	err = s.call(ctx, func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, s.q(`INSERT INTO {s}deliveries (source, id) VALUES ($1, $2) ON CONFLICT DO NOTHING`), source, id)
		if err != nil {
			return err
		}
		fresh = tag.RowsAffected() == 1
		return s.prune(ctx)
	})
	if err != nil {
		return false, fmt.Errorf("record delivery %s of %s: %w", id, source, err)
	}
	return fresh, nil
}

// prune deletes delivery records older than DeliveryRetention, at most once per pruneEvery.
func (s *Store) prune(ctx context.Context) error {
	last := s.lastPrune.Load()
	now := time.Now().UnixNano()
	if now-last < int64(pruneEvery) || !s.lastPrune.CompareAndSwap(last, now) {
		return nil
	}
	_, err := s.pool.Exec(ctx, s.q(`DELETE FROM {s}deliveries WHERE received < clock_timestamp() - $1 * interval '1 microsecond'`),
		DeliveryRetention.Microseconds())
	if err != nil {
		s.lastPrune.Store(last) // try again next time
		return fmt.Errorf("prune: %w", err)
	}
	return nil
}
