package boltstore

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/trueup/trueup/reconciler"
)

// writeRaw writes a bolt file the way an older trueup did: schema 1, the core's records as JSON
// under kv/<bucket>/<key>, nothing else. Values are JSON-encoded unless they are []byte already.
func writeRaw(t *testing.T, path string, records map[string]map[string]any) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if err := meta.Put(keySchema, []byte("1")); err != nil {
			return err
		}
		kv, err := tx.CreateBucketIfNotExists(bucketKV)
		if err != nil {
			return err
		}
		for bucket, values := range records {
			b, err := kv.CreateBucketIfNotExists([]byte(bucket))
			if err != nil {
				return err
			}
			for k, v := range values {
				raw, ok := v.([]byte)
				if !ok {
					if raw, err = json.Marshal(v); err != nil {
						return err
					}
				}
				if err := b.Put([]byte(k), raw); err != nil {
					return err
				}
			}
		}
		return nil
	}))
	require.NoError(t, db.Close())
}

// readRaw returns every key and value of kv/<bucket>.
func readRaw(t *testing.T, path, bucket string) map[string]string {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	require.NoError(t, err)
	defer db.Close()
	out := map[string]string{}
	require.NoError(t, db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketKV).Bucket([]byte(bucket)).ForEach(func(k, v []byte) error {
			out[string(k)] = string(v)
			return nil
		})
	}))
	return out
}

func plan(target, stack string, result reconciler.RunResult) reconciler.BranchPlan {
	return reconciler.BranchPlan{
		Target: target, Stack: stack, Revision: "1111111111111111111111111111111111111111", Result: result,
		Changes: []reconciler.ResourceChange{{Address: "local_file.a", Action: "create"}}, Add: 1,
		Rendered: "+ local_file.a", Time: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC),
	}
}

func renamed(p reconciler.BranchPlan, target string) reconciler.BranchPlan {
	p.Target = target
	return p
}

// A data dir written before plan keys held NUL ("<target>/<stack>", pull requests as "pr-N") opens
// with every plan readable by its own pair, once; the other records are read as they were.
func TestOpenReKeysPlansOfTheOldLayout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trueup.db")
	var (
		pull3    = plan("pr-3", "stacks/a", reconciler.ResultSucceeded)
		branch   = plan("feature/x", "stacks/b", reconciler.ResultFailed)
		shared   = plan("a", "b/c", reconciler.ResultNoChanges)     // its old key "a/b/c" could also be ("a/b", "c")
		zeroPad  = plan("pr-03", "net", reconciler.ResultSucceeded) // a branch: no pull request is named so
		oldFive  = plan("pr-5", "net", reconciler.ResultFailed)
		newFive  = plan("pr:5", "net", reconciler.ResultSucceeded) // written since the upgrade: it wins
		current  = plan("pr:4", "stacks/a", reconciler.ResultSucceeded)
		openPull = reconciler.PullRequest{Number: 3, HeadBranch: "feature", Head: "2222222222222222222222222222222222222222", State: "open"}
	)
	writeRaw(t, path, map[string]map[string]any{
		"plans": {
			"pr-3/stacks/a":      pull3,
			"feature/x/stacks/b": branch,
			"a/b/c":              shared,
			"pr-03/net":          zeroPad,
			"pr-5/net":           oldFive,
			"pr:5\x00net":        newFive,
			"pr:4\x00stacks/a":   current,
			"junk/key":           []byte("not a plan"),
			"nameless/x":         reconciler.BranchPlan{Stack: "x"},
		},
		"pulls":  {"3": openPull},
		"merges": {"3333333333333333333333333333333333333333": []byte("3")},
	})

	var logs bytes.Buffer
	s, err := Open(path, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err)
	ctx := t.Context()
	for _, tt := range []struct {
		target string
		want   []reconciler.BranchPlan
	}{
		{"pr:3", []reconciler.BranchPlan{renamed(pull3, "pr:3")}},
		{"pr-3", nil},
		{"feature/x", []reconciler.BranchPlan{branch}},
		{"feature", nil},
		{"a", []reconciler.BranchPlan{shared}},
		{"a/b", nil},
		{"pr-03", []reconciler.BranchPlan{zeroPad}},
		{"pr:5", []reconciler.BranchPlan{newFive}},
		{"pr:4", []reconciler.BranchPlan{current}},
		{"junk", nil},
		{"nameless", nil},
	} {
		got, err := s.BranchPlans(ctx, tt.target)
		require.NoError(t, err, tt.target)
		assert.Equal(t, tt.want, got, "plans of %q", tt.target)
	}
	p, err := s.BranchPlan(ctx, "pr:3", "stacks/a")
	require.NoError(t, err)
	assert.Equal(t, renamed(pull3, "pr:3"), p)
	pr, err := s.Pull(ctx, 3)
	require.NoError(t, err)
	assert.Equal(t, openPull, pr, "pull request records are read as the old core wrote them")
	n, err := s.MergeOf(ctx, "3333333333333333333333333333333333333333")
	require.NoError(t, err)
	assert.Equal(t, 3, n, "merge records too")
	assert.Contains(t, logs.String(), "store upgraded: plan records re-keyed")
	assert.Contains(t, logs.String(), "plans=5", "pr-3, feature/x, a, pr-03 and pr-5 moved")
	require.NoError(t, s.Close())

	raw := readRaw(t, path, "plans")
	assert.ElementsMatch(t, []string{
		"pr:3\x00stacks/a", "feature/x\x00stacks/b", "a\x00b/c", "pr-03\x00net", "pr:5\x00net", "pr:4\x00stacks/a",
		"junk/key", "nameless/x",
	}, keys(raw), "old keys are gone; what cannot be read is left, listed by no target")

	// A second start has nothing to do, and changes nothing.
	logs.Reset()
	s, err = Open(path, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err)
	got, err := s.BranchPlans(ctx, "pr:3")
	require.NoError(t, err)
	assert.Equal(t, []reconciler.BranchPlan{renamed(pull3, "pr:3")}, got)
	require.NoError(t, s.Close())
	assert.NotContains(t, logs.String(), "re-keyed")
	assert.Equal(t, raw, readRaw(t, path, "plans"))
}

// The records are kept where, and as, the core kept them before the store took them over, so a data
// dir opens with no migration in either direction: an older trueup reads what this one wrote.
func TestRecordsKeepTheFormatOfTheOlderCore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trueup.db")
	s, err := Open(path, Options{})
	require.NoError(t, err)
	ctx := t.Context()
	p := plan("pr:12", "stacks/a", reconciler.ResultSucceeded)
	pr := reconciler.PullRequest{Number: 12, HeadBranch: "feature", Head: "2222222222222222222222222222222222222222", State: "open"}
	require.NoError(t, s.PutBranchPlan(ctx, p))
	require.NoError(t, s.PutPull(ctx, pr))
	require.NoError(t, s.RecordMerge(ctx, "3333333333333333333333333333333333333333", 12))
	require.NoError(t, s.Close())

	// What the older core wrote itself: json.Marshal of the record, under these keys.
	wantPlan, err := json.Marshal(p)
	require.NoError(t, err)
	wantPull, err := json.Marshal(&pr)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"pr:12\x00stacks/a": string(wantPlan)}, readRaw(t, path, "plans"))
	assert.Equal(t, map[string]string{"12": string(wantPull)}, readRaw(t, path, "pulls"))
	assert.Equal(t, map[string]string{"3333333333333333333333333333333333333333": "12"}, readRaw(t, path, "merges"))

	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, db.View(func(tx *bolt.Tx) error {
		assert.Equal(t, "1", string(tx.Bucket(bucketMeta).Get(keySchema)), "the schema version an older trueup accepts")
		return nil
	}))
}

// BranchPlans reads only its own target's records: another target's record that cannot be decoded
// does not break it, and is reported to that target's reader.
func TestBranchPlansReadsOnlyItsTarget(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trueup.db")
	writeRaw(t, path, map[string]map[string]any{"plans": {
		"pr:1\x00net":  plan("pr:1", "net", reconciler.ResultSucceeded),
		"pr:10\x00net": []byte("{broken"),
		"pr:2\x00net":  []byte("{broken"),
	}})
	s, err := Open(path, Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })

	got, err := s.BranchPlans(t.Context(), "pr:1")
	require.NoError(t, err)
	assert.Equal(t, []reconciler.BranchPlan{plan("pr:1", "net", reconciler.ResultSucceeded)}, got)
	_, err = s.BranchPlans(t.Context(), "pr:10")
	assert.ErrorContains(t, err, "list plans of pr:10")
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
