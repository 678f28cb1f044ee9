// Package pgstore keeps trueup's state in PostgreSQL: the reconciler.Store that several replicas
// share, with the leader's lease (lease.Store), fenced writes (Fenced), webhook delivery records,
// intents a standby leaves for the leader, and LISTEN/NOTIFY to wake it.
//
// Layout: every table lives in one schema (Options.Schema, "trueup" by default), created at Open
// with the migrations embedded in migrations/, applied in one transaction under an advisory lock so
// replicas starting at once apply each exactly once. Records are the JSON of the core's types (a
// `json` column: it keeps the text as written, a NUL escape included), beside the columns that are
// queried: stack name, run sequence per stack, outbox sequence, (target, stack) of branch plans,
// pull request number, merge commit. Names are compared as bytes (COLLATE "C"), so listings sort
// in byte order as the Store contract asks. PostgreSQL's text holds no NUL byte and only valid
// UTF-8: a name that is not such text is refused by writes and found nowhere by reads.
//
// Every call is one transaction (or one statement), committed before it returns. The DSN is a
// secret: it is never logged, and no error of this package holds its password.
//
// The DSN must reach PostgreSQL itself or a pooler in session mode: Listen holds a session, and
// the migrations lock is a transaction's. Nothing else depends on a session.
package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/lease"
)

// DefaultSchema is the schema of trueup's tables when Options.Schema is empty.
const DefaultSchema = "trueup"

// HistoryLimit is how many finished runs are kept per stack.
const HistoryLimit = 50

// DefaultTxIdleTimeout is Options.TxIdleTimeout when zero.
const DefaultTxIdleTimeout = 5 * time.Second

// ErrRefused is wrapped by the errors of Open that waiting would not change: a database URL that
// does not parse, a schema newer than this code.
var ErrRefused = errors.New("refused")

// errClosed is returned by every call on a closed store.
var errClosed = errors.New("store is closed")

// Options tune Open. The zero value is ready to use.
type Options struct {
	// Schema holds trueup's tables, created when missing; DefaultSchema when empty.
	Schema string
	// Logger receives the migrations applied and Listen's reconnects; slog.Default() when nil.
	Logger *slog.Logger
	// TxIdleTimeout is how long the server lets this store's sessions sit idle inside a transaction
	// before it ends them (idle_in_transaction_session_timeout); DefaultTxIdleTimeout when zero. A
	// replica paused in the middle of a fenced write (SIGSTOP, a partition) holds the lease row's
	// share lock, and so delays a takeover, at most this long: keep it well under the lease TTL.
	TxIdleTimeout time.Duration
}

// Store is a reconciler.Store and a lease.Store over PostgreSQL. It is safe for concurrent use.
//
// The Store Open returns owns the connection pool: its Close closes the pool, which ends every view
// made by Fenced too. A view's Close ends that view only.
type Store struct {
	*shared
	fence  *fenceState // nil for the Store Open returned: its writes are not fenced
	closed *atomic.Bool
}

// shared is what a Store and its fenced views share.
type shared struct {
	pool     *pgxpool.Pool
	schema   string // quoted identifier followed by "."
	secret   string // the DSN's password, scrubbed from errors
	log      *slog.Logger
	closing  context.Context // canceled when the pool closes
	closeAll context.CancelFunc

	lastPrune atomic.Int64 // unix nanoseconds of the last prune of old deliveries
}

var (
	_ reconciler.Store = (*Store)(nil)
	_ lease.Store      = (*Store)(nil)
)

// Open connects to the database at dsn, creates the schema when missing and applies the migrations
// it lacks. It refuses a database whose schema is newer than this code. Replicas may Open the same
// database at once. The pool's settings can be given in the DSN (pool_max_conns=...).
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	if opts.Schema == "" {
		opts.Schema = DefaultSchema
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx redacts passwords from a DSN it cannot parse only on a best-effort basis: say nothing of it.
		return nil, fmt.Errorf("open store: the database URL does not parse (not shown: it may hold a password): %w", ErrRefused)
	}
	if opts.TxIdleTimeout <= 0 {
		opts.TxIdleTimeout = DefaultTxIdleTimeout
	}
	idle := fmt.Sprintf("SET idle_in_transaction_session_timeout = %d", opts.TxIdleTimeout.Milliseconds())
	cfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, idle)
		return err
	}
	sh := &shared{
		schema: pgx.Identifier{opts.Schema}.Sanitize() + ".",
		secret: cfg.ConnConfig.Password,
		log:    opts.Logger,
	}
	sh.closing, sh.closeAll = context.WithCancel(context.Background())
	sh.pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		sh.closeAll()
		return nil, sh.scrub(fmt.Errorf("open store: %w", err))
	}
	applied, err := sh.migrate(ctx, opts.Schema)
	if err != nil {
		sh.closeAll()
		sh.pool.Close()
		return nil, sh.scrub(fmt.Errorf("open store in schema %s: %w", opts.Schema, err))
	}
	if len(applied) > 0 {
		opts.Logger.Info("store schema migrated", "schema", opts.Schema, "applied", applied)
	}
	return &Store{shared: sh, closed: new(atomic.Bool)}, nil
}

// Close closes the store. On the Store Open returned it closes the pool, ending its views as well;
// on a view made by Fenced it ends that view only. Calls after Close fail; a second Close is a no-op.
func (s *Store) Close() error {
	if s.closed.Swap(true) || s.fence != nil {
		return nil
	}
	s.closeAll()
	s.pool.Close()
	return nil
}

// Ping reads the schema version: it fails when the store is closed, the server unreachable or the
// schema gone. A store whose server comes back answers again by itself.
func (s *Store) Ping(ctx context.Context) error {
	err := s.call(ctx, func(ctx context.Context) error {
		var v int
		return s.pool.QueryRow(ctx, s.q(`SELECT coalesce(max(version), 0) FROM {s}schema_migrations`)).Scan(&v)
	})
	if err != nil {
		return fmt.Errorf("ping store: %w", err)
	}
	return nil
}

// usable fails when ctx is done or the store closed.
func (s *Store) usable(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.closed.Load() || s.closing.Err() != nil {
		return errClosed
	}
	return nil
}

// call runs fn, statements outside a fenced transaction (reads, the lease's own updates,
// deliveries), after checking ctx and the store.
func (s *Store) call(ctx context.Context, fn func(ctx context.Context) error) error {
	if err := s.usable(ctx); err != nil {
		return err
	}
	return s.scrub(fn(ctx))
}

// write runs fn in one transaction, committed when both return nil. On a fenced view the
// transaction first checks, and holds until it ends, the lease the view writes under.
func (s *Store) write(ctx context.Context, fn func(tx pgx.Tx) error) error {
	if err := s.usable(ctx); err != nil {
		return err
	}
	return s.scrub(pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if s.fence != nil {
			if err := s.fence.check(ctx, tx, s.schema); err != nil {
				return err
			}
		}
		return fn(tx)
	}))
}

// q puts the schema into a query: "{s}stacks" is the schema's table stacks.
func (s *shared) q(query string) string { return strings.ReplaceAll(query, "{s}", s.schema) }

// scrub returns err without the DSN's password in its text: pgx leaves it out of its errors, and
// this makes sure. The scrubbed error still matches what err matched with errors.Is.
func (s *shared) scrub(err error) error { return scrubSecret(err, s.secret) }

// scrubSecret returns err without secret in its text (see scrub).
func scrubSecret(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return &scrubbed{msg: strings.ReplaceAll(err.Error(), secret, "xxxxx"), err: err}
}

// scrubbed is an error whose text had the password removed. It has no Unwrap, so the original
// text is out of reach; Is still answers for it.
type scrubbed struct {
	msg string
	err error
}

func (e *scrubbed) Error() string        { return e.msg }
func (e *scrubbed) Is(target error) bool { return errors.Is(e.err, target) }

// storable reports whether every name can be a PostgreSQL text: valid UTF-8 without NUL.
func storable(names ...string) bool {
	for _, n := range names {
		if !utf8.ValidString(n) || strings.IndexByte(n, 0) >= 0 {
			return false
		}
	}
	return true
}
