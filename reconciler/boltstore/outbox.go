package boltstore

import (
	"context"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/trueup/trueup/reconciler"
)

// Enqueue appends e to the outbox and returns its sequence number. Sequence numbers only grow, across
// Acks and restarts: bolt persists the bucket's sequence with the data.
func (s *Store) Enqueue(ctx context.Context, e reconciler.Event) (uint64, error) {
	var seq uint64
	err := s.update(ctx, func(tx *bolt.Tx) error {
		var err error
		seq, err = enqueue(tx, e)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("enqueue %s event for %s: %w", e.Kind, e.Stack, err)
	}
	return seq, nil
}

func enqueue(tx *bolt.Tx, e reconciler.Event) (uint64, error) {
	out := tx.Bucket(bucketOutbox)
	seq, err := out.NextSequence()
	if err != nil {
		return 0, err
	}
	e.Seq = seq
	raw, err := json.Marshal(e)
	if err != nil {
		return 0, err
	}
	return seq, out.Put(seqKey(seq), raw)
}

// Outbox returns undelivered events in the order they were enqueued, with Seq set, at most limit
// (all of them when limit <= 0).
func (s *Store) Outbox(ctx context.Context, limit int) ([]reconciler.Event, error) {
	var events []reconciler.Event
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOutbox).Cursor()
		for k, v := c.First(); k != nil && (limit <= 0 || len(events) < limit); k, v = c.Next() {
			seq, ok := keySeq(k)
			if !ok {
				return fmt.Errorf("outbox key %x is not a sequence", k)
			}
			var e reconciler.Event
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode event %d: %w", seq, err)
			}
			e.Seq = seq // the key is the truth
			events = append(events, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	return events, nil
}

// Ack removes a delivered event from the outbox. Acking a sequence that is not there (already acked) is not an error.
func (s *Store) Ack(ctx context.Context, seq uint64) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketOutbox).Delete(seqKey(seq))
	})
	if err != nil {
		return fmt.Errorf("ack event %d: %w", seq, err)
	}
	return nil
}
