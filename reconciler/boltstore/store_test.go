package boltstore

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/storetest"
)

func openAt(t *testing.T, dir string) reconciler.Store {
	t.Helper()
	s, err := Open(filepath.Join(dir, "trueup.db"), Options{})
	require.NoError(t, err)
	return s
}

func TestStore(t *testing.T) {
	storetest.TestStore(t, openAt)
}

func TestOpenLockedFailsFast(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "trueup.db")
	first, err := Open(path, Options{})
	require.NoError(t, err)

	// flock locks belong to the open file, so a second Open in this process contends like another trueup would.
	_, err = Open(path, Options{Timeout: 50 * time.Millisecond})
	require.ErrorIs(t, err, ErrInUse)
	assert.Contains(t, err.Error(), "in use by another trueup")
	assert.Contains(t, err.Error(), path, "the error names the file")

	require.NoError(t, first.Close())
	second, err := Open(path, Options{Timeout: 50 * time.Millisecond})
	require.NoError(t, err, "the lock is released on Close")
	require.NoError(t, second.Close())
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trueup.db")
	db, err := bolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket(bucketMeta)
		if err != nil {
			return err
		}
		return b.Put(keySchema, fmt.Appendf(nil, "%d", schemaVersion+1))
	}))
	require.NoError(t, db.Close())

	_, err = Open(path, Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "newer than this trueup understands")
}

func TestOpenNotADatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trueup.db")
	require.NoError(t, os.WriteFile(path, []byte("this is not a bolt file, but it is long enough to have a header page"), 0o600))
	_, err := Open(path, Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "open store "+path)
}

func TestFileIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trueup.db")
	s, err := Open(path, Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "state may hold plan details; only the owner reads it")
}

func TestFinishRunIsIdempotent(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "trueup.db"), Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	ctx := t.Context()

	run := func(id string, result reconciler.RunResult) reconciler.RunRecord {
		return reconciler.RunRecord{ID: id, Stack: "net", Kind: reconciler.RunApply, Result: result}
	}
	require.NoError(t, s.FinishRun(ctx, run("a", reconciler.ResultFailed)))
	require.NoError(t, s.FinishRun(ctx, run("b", reconciler.ResultSucceeded)))
	require.NoError(t, s.FinishRun(ctx, run("a", reconciler.ResultInterrupted))) // a retry

	runs, err := s.Runs(ctx, "net", 10)
	require.NoError(t, err)
	assert.Equal(t, []reconciler.RunRecord{run("b", reconciler.ResultSucceeded), run("a", reconciler.ResultInterrupted)}, runs,
		"the retry replaces the record in place instead of appending a duplicate")
}

func TestRejectsEmptyNames(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "trueup.db"), Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	ctx := t.Context()

	tests := []struct {
		name string
		call func() error
	}{
		{"stack without name", func() error { return s.PutStack(ctx, reconciler.StackState{}) }},
		{"run without id", func() error { return s.StartRun(ctx, reconciler.RunRecord{Stack: "net"}) }},
		{"finish without stack", func() error { return s.FinishRun(ctx, reconciler.RunRecord{ID: "a"}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Error(t, tt.call())
		})
	}
}

func TestUseAfterClose(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "trueup.db"), Options{})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "a second Close is a no-op")
	err = s.PutStack(t.Context(), reconciler.StackState{Name: "net"})
	require.ErrorIs(t, err, bolt.ErrDatabaseNotOpen)
	assert.Contains(t, err.Error(), "put stack net")
}
