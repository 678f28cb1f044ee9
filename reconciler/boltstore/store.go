// Package boltstore keeps trueup's state in one bbolt file: a reconciler.Store for a single machine.
//
// Layout (top-level buckets):
//
//	meta      schema version
//	stacks    stack name → JSON StackState
//	runs      stack name → nested bucket: big-endian sequence → JSON RunRecord (newest 50 kept)
//	inflight  run ID → JSON RunRecord
//	outbox    big-endian sequence → JSON Event
//	kv        bucket name → nested bucket: key → value (Get, Put, Delete, List)
//
// Every write is one bolt read-write transaction, fsynced on commit, so it is durable when the call returns.
package boltstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/trueup/trueup/reconciler"
)

// ErrInUse is returned by Open when another process (another trueup) holds the file open.
var ErrInUse = errors.New("data dir is in use by another trueup")

// schemaVersion is the layout this code reads and writes. Open refuses a file written by a newer layout.
const schemaVersion = 1

// DefaultTimeout is how long Open waits for another process to release the file.
const DefaultTimeout = time.Second

var (
	bucketMeta     = []byte("meta")
	bucketStacks   = []byte("stacks")
	bucketRuns     = []byte("runs")
	bucketInFlight = []byte("inflight")
	bucketOutbox   = []byte("outbox")
	bucketKV       = []byte("kv")
	keySchema      = []byte("schema")
)

// Options tune Open. The zero value is ready to use.
type Options struct {
	// Timeout is how long Open waits for the file lock held by another process; DefaultTimeout when zero.
	Timeout time.Duration
	// Logger receives a debug line when the store opens; slog.Default() when nil.
	Logger *slog.Logger
}

// Store is a reconciler.Store over a bbolt file. It is safe for concurrent use: bolt serializes
// writers and lets readers run alongside them.
type Store struct {
	db   *bolt.DB
	path string
}

var _ reconciler.Store = (*Store)(nil)

// Open opens the store at path, creating the file (and its directory) when missing. It fails with an
// error wrapping ErrInUse when another process has the file open and does not release it within the timeout.
func Open(path string, opts Options) (*Store, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.Timeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open store %s: %w (the file stayed locked for %s; stop the other process or use another data dir)",
			path, ErrInUse, opts.Timeout)
	}
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := db.Update(initBuckets); err != nil {
		_ = db.Close() // the init error is the one worth reporting
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	opts.Logger.Debug("store opened", "path", path)
	return &Store{db: db, path: path}, nil
}

// initBuckets creates the top-level buckets and checks the schema version.
func initBuckets(tx *bolt.Tx) error {
	for _, name := range [][]byte{bucketMeta, bucketStacks, bucketRuns, bucketInFlight, bucketOutbox, bucketKV} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	meta := tx.Bucket(bucketMeta)
	raw := meta.Get(keySchema)
	if raw == nil {
		return meta.Put(keySchema, []byte(strconv.Itoa(schemaVersion)))
	}
	v, err := strconv.Atoi(string(raw))
	if err != nil {
		return fmt.Errorf("read schema version %q: %w", raw, err)
	}
	if v > schemaVersion {
		return fmt.Errorf("schema version %d is newer than this trueup understands (%d): upgrade trueup", v, schemaVersion)
	}
	return nil
}

// Path is the file the store was opened from.
func (s *Store) Path() string { return s.path }

// Close releases the file and its lock. Calls after Close fail; a second Close is a no-op.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store %s: %w", s.path, err)
	}
	return nil
}

// view runs fn in a read-only transaction after checking ctx.
func (s *Store) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(fn)
}

// update runs fn in one read-write transaction after checking ctx; it is durable when update returns nil.
func (s *Store) update(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.Update(fn)
}

// clone copies a value out of bolt's memory map, which is only valid inside its transaction.
func clone(b []byte) []byte {
	return append([]byte{}, b...)
}
