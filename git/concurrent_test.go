package git

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/git/gittest"
	"github.com/trueup/trueup/reconciler"
)

// TestConcurrentUse runs Poll, Tree reads, Changed, MergeBase and Checkout at once while the remote
// moves; `go test -race` checks that the mirror's locking holds, also while polls repack the mirror
// and replace its storage under readers.
func TestConcurrentUse(t *testing.T) {
	t.Run("no repack", func(t *testing.T) { concurrentUse(t, defaultRepackAbove) })
	t.Run("repack after every fetch", func(t *testing.T) { concurrentUse(t, 1) })
}

func concurrentUse(t *testing.T, repackAbove int) {
	ctx := context.Background()
	remote := gittest.NewRemote(t)
	first := remote.CommitAndPush("first", map[string]string{"a/main.tf": "1", "b/main.tf": "1", "link.tf": "symlink:a/main.tf"})
	m := polled(t, remote)
	m.repackAbove = repackAbove
	fsys, err := m.Tree(ctx, first)
	require.NoError(t, err)

	var wg sync.WaitGroup
	errs := make(chan error, 100)
	done := make(chan struct{})
	worker := func(fn func(i int) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				if err := fn(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	worker(func(int) error { _, err := m.Poll(ctx); return err })
	worker(func(int) error {
		return fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			if _, err := fs.ReadFile(fsys, p); err != nil {
				return err
			}
			_, err = d.Info()
			return err
		})
	})
	for w := range 2 {
		dir := filepath.Join(t.TempDir(), fmt.Sprint(w))
		worker(func(int) error {
			head := m.Head("main")
			if err := m.Checkout(ctx, head, dir); err != nil {
				return err
			}
			_, err := m.Changed(ctx, first, head)
			return err
		})
	}
	worker(func(int) error {
		head := m.Head("main")
		if _, err := m.MergeBase(ctx, first, head); err != nil {
			return err
		}
		tree, err := m.Tree(ctx, head)
		if err != nil {
			return err
		}
		_, err = fs.ReadLink(tree, "link.tf")
		return err
	})

	var last reconciler.Revision
	for i := range 5 {
		last = remote.CommitAndPush(fmt.Sprint("commit ", i), map[string]string{"b/main.tf": fmt.Sprint(i)})
	}
	require.Eventually(t, func() bool { return m.Head("main") == last }, timeoutForEventually, pollEvery)
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	if repackAbove == 1 {
		assert.Positive(t, repackCount(m))
	}
}
