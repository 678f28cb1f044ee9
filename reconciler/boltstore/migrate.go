package boltstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/trueup/trueup/reconciler"
)

// planKeysVersion marks, in meta/plan_keys, a file whose plan records are all keyed by planKey.
const planKeysVersion = "2"

// migratePlanKeys re-keys the plan records of a file written before plan keys held NUL, once, in the
// transaction that opens it, and returns how many it moved. That trueup keyed a plan "<target>/<stack>",
// which two different pairs could share ("a/b" + "c" and "a" + "b/c"), and named pull request 3's
// target "pr-3", which a branch could take. Each record is moved under planKey of the pair it holds
// itself, its target renamed "pr-N" → "pr:N". A record that cannot be read is left where it is: its key
// holds no NUL, so no target lists it. A record already under the new key was written later, by this
// layout, and is kept.
func migratePlanKeys(tx *bolt.Tx) (int, error) {
	meta := tx.Bucket(bucketMeta)
	if string(meta.Get(keyPlanKeys)) == planKeysVersion {
		return 0, nil
	}
	b := plans(tx)
	type move struct{ from, to, raw []byte }
	var moves []move
	err := b.ForEach(func(k, v []byte) error {
		if v == nil || bytes.Contains(k, []byte(planKeySep)) {
			return nil
		}
		var p reconciler.BranchPlan
		if json.Unmarshal(v, &p) != nil {
			return nil
		}
		p.Target = legacyPullTarget(p.Target)
		to, err := planKey(p.Target, p.Stack)
		if err != nil {
			return nil // no pair to key it by
		}
		raw, err := json.Marshal(p)
		if err != nil {
			return fmt.Errorf("encode plan %q: %w", k, err)
		}
		moves = append(moves, move{from: clone(k), to: to, raw: raw})
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("re-key plans: %w", err)
	}
	for _, m := range moves {
		if b.Get(m.to) == nil {
			if err := b.Put(m.to, m.raw); err != nil {
				return 0, fmt.Errorf("re-key plan %q: %w", m.from, err)
			}
		}
		if err := b.Delete(m.from); err != nil {
			return 0, fmt.Errorf("re-key plan %q: %w", m.from, err)
		}
	}
	if err := meta.Put(keyPlanKeys, []byte(planKeysVersion)); err != nil {
		return 0, err
	}
	return len(moves), nil
}

// legacyPullTarget renames an old pull request target "pr-N" to the current "pr:N" (the reconciler's
// name for pull request N, which no branch can take); any other name is a branch and stays.
func legacyPullTarget(target string) string {
	n, ok := strings.CutPrefix(target, "pr-")
	if !ok {
		return target
	}
	if num, err := strconv.Atoi(n); err == nil && num > 0 && strconv.Itoa(num) == n {
		return "pr:" + n
	}
	return target
}
