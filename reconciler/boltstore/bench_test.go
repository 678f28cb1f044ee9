package boltstore

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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
