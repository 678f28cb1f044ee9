package pgstore

import (
	"testing"
	"time"

	"github.com/trueup/trueup/reconciler"
)

// benchStack is the stack state the benchmarks write (as boltstore's BenchmarkPutStack does).
var benchStack = reconciler.StackState{
	Name: "net", Dir: "stacks/net", Workspace: "default",
	AppliedRev: "1111111111111111111111111111111111111111",
	Drift: reconciler.DriftState{
		LastChecked: time.Now(),
		Resources:   []reconciler.ResourceChange{{Address: "local_file.a", Action: "update"}},
	},
}

// BenchmarkPutStack measures one stack write as the leader makes it: through a fenced view, so the
// lease check is in the cost. It reports ms/op (make bench's pgstore.put_stack_ms). The test server
// runs with fsync off: a real server adds its commit flush.
func BenchmarkPutStack(b *testing.B) {
	s := openStore(b, newDB(b))
	l, ok, err := s.Acquire(b.Context(), "bench", time.Hour)
	if err != nil || !ok {
		b.Fatal("acquire lease:", ok, err)
	}
	benchPut(b, s.Fenced(Fence{Holder: l.Holder, Epoch: l.Epoch}))
}

// BenchmarkPutStackUnfenced is BenchmarkPutStack without the lease check, for comparison.
func BenchmarkPutStackUnfenced(b *testing.B) {
	benchPut(b, openStore(b, newDB(b)))
}

func benchPut(b *testing.B, s reconciler.Store) {
	for b.Loop() {
		if err := s.PutStack(b.Context(), benchStack); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
}
