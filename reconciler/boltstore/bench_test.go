package boltstore

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/trueup/trueup/reconciler"
)

func benchStore(b *testing.B) *Store {
	b.Helper()
	s, err := Open(filepath.Join(b.TempDir(), "trueup.db"), Options{})
	require.NoError(b, err)
	b.Cleanup(func() { require.NoError(b, s.Close()) })
	return s
}

// BenchmarkPutStack measures one durable (fsynced) stack write.
func BenchmarkPutStack(b *testing.B) {
	s := benchStore(b)
	st := reconciler.StackState{
		Name: "net", Dir: "stacks/net", Workspace: "default",
		AppliedRev: "1111111111111111111111111111111111111111",
		Drift: reconciler.DriftState{
			LastChecked: time.Now(),
			Resources:   []reconciler.ResourceChange{{Address: "local_file.a", Action: "update"}},
		},
	}
	for b.Loop() {
		if err := s.PutStack(b.Context(), st); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEnqueueAck measures delivering one notification through the outbox: two durable writes.
func BenchmarkEnqueueAck(b *testing.B) {
	s := benchStore(b)
	e := reconciler.Event{Kind: reconciler.EventDriftDetected, Stack: "net", Time: time.Now(), Summary: "drift in net"}
	for b.Loop() {
		seq, err := s.Enqueue(b.Context(), e)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Ack(b.Context(), seq); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBranchPlans lists one pull request's plans among those of 1,000 targets (what every pull
// request event does): "seek" is BranchPlans; "scan" is how the core did it before, listing the whole
// bucket and keeping the target's keys.
func BenchmarkBranchPlans(b *testing.B) {
	s := benchStore(b)
	for i := range 1000 {
		for _, stack := range []string{"stacks/app", "stacks/db", "stacks/net", "stacks/web", "stacks/queue"} {
			p := reconciler.BranchPlan{Target: fmt.Sprintf("pr:%d", i+1), Stack: stack, Result: reconciler.ResultSucceeded,
				Rendered: strings.Repeat("+ local_file.a\n", 200), Time: time.Now()}
			require.NoError(b, s.PutBranchPlan(b.Context(), p))
		}
	}
	b.Run("seek", func(b *testing.B) {
		for b.Loop() {
			plans, err := s.BranchPlans(b.Context(), "pr:500")
			if err != nil || len(plans) != 5 {
				b.Fatal(len(plans), err)
			}
		}
	})
	b.Run("scan", func(b *testing.B) {
		for b.Loop() {
			all := map[string][]byte{}
			require.NoError(b, s.db.View(func(tx *bolt.Tx) error {
				return plans(tx).ForEach(func(k, v []byte) error { all[string(k)] = clone(v); return nil })
			}))
			var out []reconciler.BranchPlan
			for k, v := range all {
				if strings.HasPrefix(k, "pr:500\x00") {
					var p reconciler.BranchPlan
					require.NoError(b, json.Unmarshal(v, &p))
					out = append(out, p)
				}
			}
			if len(out) != 5 {
				b.Fatal(len(out))
			}
		}
	})
}
