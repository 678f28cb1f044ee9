// Package boltstore keeps trueup's state in one bbolt file: a reconciler.Store for a single machine.
//
// Layout (top-level buckets):
//
//	meta      schema → schema version; plan_keys → planKeysVersion once old plan keys are re-keyed
//	stacks    stack name → JSON StackState
//	runs      stack name → nested bucket: big-endian sequence → JSON RunRecord (newest 50 kept)
//	inflight  run ID → JSON RunRecord
//	outbox    big-endian sequence → JSON Event
//	kv        nested buckets for branch and pull request work:
//	  plans   target + "\x00" + stack → JSON BranchPlan (a target's plans are one run of keys)
//	  pulls   decimal pull request number → JSON PullRequest, for pull requests trueup has planned
//	  merges  merge commit → decimal pull request number
//
// Every write is one bolt read-write transaction, fsynced on commit, so it is durable when the call returns.
//
// The kv bucket and its three nested buckets are where trueup's core kept these records itself, as JSON,
// before the store took them over: the names, keys and values are the same, so a data dir written by
// that trueup opens unchanged, and that trueup can still open a file written by this one. Open re-keys
// plan records of the layout before that (migratePlanKeys).
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
	bucketPlans    = []byte("plans")  // nested in kv
	bucketPulls    = []byte("pulls")  // nested in kv
	bucketMerges   = []byte("merges") // nested in kv
	keySchema      = []byte("schema")
	keyPlanKeys    = []byte("plan_keys")
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
	var rekeyed int
	err = db.Update(func(tx *bolt.Tx) error {
		if err := initBuckets(tx); err != nil {
			return err
		}
		rekeyed, err = migratePlanKeys(tx)
		return err
	})
	if err != nil {
		_ = db.Close() // the init error is the one worth reporting
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if rekeyed > 0 {
		opts.Logger.Info("store upgraded: plan records re-keyed", "path", path, "plans", rekeyed)
	}
	opts.Logger.Debug("store opened", "path", path)
	return &Store{db: db, path: path}, nil
}

// initBuckets creates the buckets and checks the schema version. A new file needs no re-keying.
func initBuckets(tx *bolt.Tx) error {
	for _, name := range [][]byte{bucketMeta, bucketStacks, bucketRuns, bucketInFlight, bucketOutbox, bucketKV} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	kv := tx.Bucket(bucketKV)
	for _, name := range [][]byte{bucketPlans, bucketPulls, bucketMerges} {
		if _, err := kv.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket kv/%s: %w", name, err)
		}
	}
	meta := tx.Bucket(bucketMeta)
	raw := meta.Get(keySchema)
	if raw == nil {
		if err := meta.Put(keyPlanKeys, []byte(planKeysVersion)); err != nil {
			return err
		}
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

// Ping reads the schema version: it fails once the store is closed.
func (s *Store) Ping(ctx context.Context) error {
	err := s.view(ctx, func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta).Get(keySchema) == nil {
			return errors.New("no schema version")
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("ping store %s: %w", s.path, err)
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
