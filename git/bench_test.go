package git

import (
	"context"
	"fmt"
	"testing"

	"github.com/trueup/trueup/git/gittest"
)

// benchRemote is a repository with a few hundred commits over 2,000 files, polled once into a mirror.
func benchRemote(b *testing.B) (*gittest.Remote, *Mirror) {
	b.Helper()
	remote := gittest.NewRemote(b)
	remote.GenerateHistory(300, 2000)
	remote.SetPullRef(1, remote.Rev("main~3"))
	return remote, polled(b, remote)
}

// BenchmarkPollNoop is the steady state: list refs, find nothing new, fetch nothing.
func BenchmarkPollNoop(b *testing.B) {
	_, m := benchRemote(b)
	ctx := context.Background()
	before := fetchCount(m)
	for b.Loop() {
		if _, err := m.Poll(ctx); err != nil {
			b.Fatal(err)
		}
	}
	if fetchCount(m) != before {
		b.Fatalf("a poll with nothing new fetched")
	}
}

// BenchmarkPollFetchOne fetches one new commit per poll.
func BenchmarkPollFetchOne(b *testing.B) {
	remote, m := benchRemote(b)
	ctx := context.Background()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		remote.CommitAndPush(fmt.Sprint("bench ", i), map[string]string{"d000/f0000.tf": fmt.Sprint(i)})
		b.StartTimer()
		if _, err := m.Poll(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChanged diffs two commits a few apart, reading trees only.
func BenchmarkChanged(b *testing.B) {
	remote, m := benchRemote(b)
	ctx := context.Background()
	from, to := remote.Rev("main~10"), remote.Rev("main")
	for b.Loop() {
		if _, err := m.Changed(ctx, from, to); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckoutNoop re-checks out the revision already in the directory: stat every file, write nothing.
func BenchmarkCheckoutNoop(b *testing.B) {
	remote, m := benchRemote(b)
	ctx := context.Background()
	dir := b.TempDir()
	head := remote.Rev("main")
	if err := m.Checkout(ctx, head, dir); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := m.Checkout(ctx, head, dir); err != nil {
			b.Fatal(err)
		}
	}
}
