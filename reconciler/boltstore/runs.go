package boltstore

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/trueup/trueup/reconciler"
)

// HistoryLimit is how many finished runs are kept per stack.
const HistoryLimit = 50

// StartRun records r as in flight under r.ID, which must not be empty. Starting the same ID again overwrites it.
func (s *Store) StartRun(ctx context.Context, r reconciler.RunRecord) error {
	if r.ID == "" {
		return errors.New("start run: empty id")
	}
	raw, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("start run %s: %w", r.ID, err)
	}
	err = s.update(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketInFlight).Put([]byte(r.ID), raw)
	})
	if err != nil {
		return fmt.Errorf("start run %s: %w", r.ID, err)
	}
	return nil
}

// FinishRun removes r.ID from the in-flight runs and appends r to r.Stack's history in one transaction,
// keeping the newest HistoryLimit. It is idempotent: finishing a run already in the history replaces it
// in place rather than appending it twice, so a retry after an ambiguous failure is safe.
func (s *Store) FinishRun(ctx context.Context, r reconciler.RunRecord) error {
	if r.ID == "" || r.Stack == "" {
		return fmt.Errorf("finish run %q of stack %q: empty id or stack", r.ID, r.Stack)
	}
	raw, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("finish run %s: %w", r.ID, err)
	}
	err = s.update(ctx, func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketInFlight).Delete([]byte(r.ID)); err != nil {
			return err
		}
		hist, err := tx.Bucket(bucketRuns).CreateBucketIfNotExists([]byte(r.Stack))
		if err != nil {
			return err
		}
		key, err := historyKey(hist, r.ID)
		if err != nil {
			return err
		}
		if err := hist.Put(key, raw); err != nil {
			return err
		}
		return trimHistory(hist, HistoryLimit)
	})
	if err != nil {
		return fmt.Errorf("finish run %s: %w", r.ID, err)
	}
	return nil
}

// historyKey is the key of the history record with this run ID, or a new key after every other.
// The history is at most HistoryLimit records, so the scan is cheap.
func historyKey(hist *bolt.Bucket, id string) ([]byte, error) {
	var found []byte
	err := hist.ForEach(func(k, v []byte) error {
		var rec struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(v, &rec); err != nil {
			return fmt.Errorf("decode run %x: %w", k, err)
		}
		if rec.ID == id {
			found = clone(k)
		}
		return nil
	})
	if err != nil || found != nil {
		return found, err
	}
	seq, err := hist.NextSequence()
	if err != nil {
		return nil, err
	}
	return seqKey(seq), nil
}

// trimHistory deletes all but the newest keep records. Keys are collected first because deleting
// under a moving cursor can skip entries.
func trimHistory(hist *bolt.Bucket, keep int) error {
	var old [][]byte
	c := hist.Cursor()
	n := 0
	for k, _ := c.Last(); k != nil; k, _ = c.Prev() {
		n++
		if n > keep {
			old = append(old, clone(k))
		}
	}
	for _, k := range old {
		if err := hist.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// InFlight returns the runs started and not finished, oldest first (by Started, then ID).
func (s *Store) InFlight(ctx context.Context) ([]reconciler.RunRecord, error) {
	var out []reconciler.RunRecord
	err := s.view(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketInFlight).ForEach(func(k, v []byte) error {
			var r reconciler.RunRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode %s: %w", k, err)
			}
			out = append(out, r)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list in-flight runs: %w", err)
	}
	slices.SortFunc(out, func(a, b reconciler.RunRecord) int {
		return cmp.Or(a.Started.Compare(b.Started), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// Runs returns a stack's finished runs, newest first, at most limit (all kept runs when limit <= 0).
// A stack with no history has no runs and no error.
func (s *Store) Runs(ctx context.Context, stack string, limit int) ([]reconciler.RunRecord, error) {
	var out []reconciler.RunRecord
	err := s.view(ctx, func(tx *bolt.Tx) error {
		hist := tx.Bucket(bucketRuns).Bucket([]byte(stack))
		if hist == nil {
			return nil
		}
		c := hist.Cursor()
		for k, v := c.Last(); k != nil && (limit <= 0 || len(out) < limit); k, v = c.Prev() {
			var r reconciler.RunRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("decode %x: %w", k, err)
			}
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list runs of %s: %w", stack, err)
	}
	return out, nil
}

// seqKey encodes a sequence number big-endian, so bolt's byte order is numeric order.
func seqKey(seq uint64) []byte {
	return binary.BigEndian.AppendUint64(nil, seq)
}

// keySeq decodes seqKey; a key of another length is not a sequence.
func keySeq(k []byte) (uint64, bool) {
	if len(k) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(k), true
}
