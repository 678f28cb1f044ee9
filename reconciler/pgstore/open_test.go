package pgstore

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/pgstore/pgtest"
)

// scalar runs a one-value query on dsn as the test's superuser.
func scalar[T any](t testing.TB, dsn, sql string, args ...any) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var v T
	require.NoError(t, conn.QueryRow(ctx, sql, args...).Scan(&v), sql)
	return v
}

func TestConcurrentOpenMigratesOnce(t *testing.T) {
	dsn := newDB(t)
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	const replicas = 8
	var (
		wg     sync.WaitGroup
		start  = make(chan struct{})
		stores = make([]*Store, replicas)
		errs   = make([]error, replicas)
	)
	for i := range replicas {
		wg.Go(func() {
			<-start
			stores[i], errs[i] = Open(t.Context(), dsn, Options{Logger: log})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "replica %d", i)
		t.Cleanup(func() { _ = stores[i].Close() })
	}
	assert.Equal(t, 1, strings.Count(logs.String(), "store schema migrated"), "one replica migrated: %s", logs.String())
	all, err := migrations()
	require.NoError(t, err)
	assert.Equal(t, int64(len(all)), scalar[int64](t, dsn, `SELECT count(*) FROM trueup.schema_migrations`), "each applied once")
	for i, s := range stores {
		require.NoError(t, s.PutStack(t.Context(), reconciler.StackState{Name: fmt.Sprint(i)}), "replica %d writes", i)
	}
	got, err := stores[0].Stacks(t.Context())
	require.NoError(t, err)
	assert.Len(t, got, replicas, "they share one schema")
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	dsn := newDB(t)
	s := openStore(t, dsn)
	require.NoError(t, s.Close())
	pgtest.Start(t).Exec(t, dbOf(t, dsn), `INSERT INTO trueup.schema_migrations (version, name) VALUES (99, '0099_future')`)
	_, err := Open(t.Context(), dsn, Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "schema version 99 is newer than this trueup understands")
	assert.ErrorIs(t, err, ErrRefused, "waiting would not change it: a replica stops at once")
}

func TestSchemasAreApart(t *testing.T) {
	dsn := newDB(t)
	a, err := Open(t.Context(), dsn, Options{Schema: "team-a"})
	require.NoError(t, err)
	defer a.Close()
	b, err := Open(t.Context(), dsn, Options{Schema: "team-b"})
	require.NoError(t, err)
	defer b.Close()
	require.NoError(t, a.PutStack(t.Context(), reconciler.StackState{Name: "net"}))
	_, err = b.Stack(t.Context(), "net")
	assert.ErrorIs(t, err, reconciler.ErrNotFound)
	assert.Equal(t, int64(1), scalar[int64](t, dsn, `SELECT count(*) FROM "team-a".stacks`))
}

// A value holding what PostgreSQL's text cannot (NUL) comes back whole; a name holding it is refused.
func TestNULInValuesAndNames(t *testing.T) {
	s := openStore(t, newDB(t))
	ctx := t.Context()
	r := reconciler.RunRecord{ID: "r1", Stack: "net", Result: reconciler.ResultFailed, Error: "terraform said \x00 and \xff"}
	require.NoError(t, s.FinishRun(ctx, r))
	runs, err := s.Runs(ctx, "net", 1)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	assert.Equal(t, "terraform said \x00 and \ufffd", runs[0].Error, "as encoding/json keeps it")

	assert.Error(t, s.PutStack(ctx, reconciler.StackState{Name: "a\x00b"}))
	assert.Error(t, s.PutStack(ctx, reconciler.StackState{Name: "a\xffb"}))
	_, err = s.Stack(ctx, "a\xffb")
	assert.ErrorIs(t, err, reconciler.ErrNotFound)
	_, err = s.MergeOf(ctx, "a\x00")
	assert.ErrorIs(t, err, reconciler.ErrNotFound)
}

// Ping fails while the server is down and the store recovers by itself when it comes back.
func TestServerGoesAwayAndComesBack(t *testing.T) {
	srv := pgtest.New(t)
	s := openStore(t, srv.NewDatabase(t))
	ctx := t.Context()
	require.NoError(t, s.PutStack(ctx, reconciler.StackState{Name: "before"}))

	srv.Kill(t)
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	assert.Error(t, s.Ping(pingCtx), "a store whose server is gone does not answer")
	cancel()
	assert.Error(t, s.PutStack(ctx, reconciler.StackState{Name: "during"}))

	srv.Start(t)
	require.Eventually(t, func() bool { return s.Ping(ctx) == nil }, 20*time.Second, 100*time.Millisecond)
	require.Eventually(t, func() bool { return s.PutStack(ctx, reconciler.StackState{Name: "after"}) == nil },
		10*time.Second, 50*time.Millisecond)
	got, err := s.Stacks(ctx)
	require.NoError(t, err)
	names := []string{}
	for _, st := range got {
		names = append(names, st.Name)
	}
	assert.Equal(t, []string{"after", "before"}, names, "what was committed survived the crash; the failed write did not happen")
}

// The DSN's password appears in no error: a wrong password, an unreachable server, a DSN that
// does not parse.
func TestErrorsHoldNoPassword(t *testing.T) {
	srv := pgtest.Start(t)
	const password = "hunter2-Secret-Pw"
	srv.NewRole(t, "pw_user", password)
	db := dbOf(t, srv.NewDatabase(t))
	for name, dsn := range map[string]string{
		"wrong password": fmt.Sprintf("postgres://pw_user:%s-no@127.0.0.1:%d/%s?sslmode=disable", password, srv.Port(), db),
		"no server":      fmt.Sprintf("postgres://pw_user:%s@127.0.0.1:1/%s?sslmode=disable&connect_timeout=2", password, db),
		"unparsable":     fmt.Sprintf("postgres://pw_user:%s@127.0.0.1:%d/%s?sslmode=disable&connect_timeout=bad", password, srv.Port(), db),
		"keyword form":   fmt.Sprintf("host=127.0.0.1 port=%d dbname=%s user=pw_user password=%s-no sslmode=disable", srv.Port(), db, password),
		"no such option": fmt.Sprintf("postgres://pw_user:%s@127.0.0.1:%d/%s?sslmode=bogus", password, srv.Port(), db),
	} {
		t.Run(name, func(t *testing.T) {
			var logs syncBuffer
			_, err := Open(t.Context(), dsn, Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
			require.Error(t, err)
			assert.NotContains(t, err.Error(), "hunter2", "the error holds no password")
			assert.NotContains(t, fmt.Sprintf("%+v", err), "hunter2")
			assert.NotContains(t, logs.String(), "hunter2")
			t.Log(err)
		})
	}
	// With the right password it works, and the secret is scrubbed from errors it could reach.
	srv.Exec(t, db, `GRANT CREATE ON DATABASE `+pgx.Identifier{db}.Sanitize()+` TO pw_user`)
	s := openStore(t, fmt.Sprintf("postgres://pw_user:%s@127.0.0.1:%d/%s?sslmode=disable", password, srv.Port(), db))
	require.NoError(t, s.Ping(t.Context()))
	err := s.scrub(fmt.Errorf("wrapped: %w", fmt.Errorf("server said %s: %w", password, context.Canceled)))
	assert.Equal(t, "wrapped: server said xxxxx: context canceled", err.Error())
	assert.ErrorIs(t, err, context.Canceled, "a scrubbed error still matches")
}

// dbOf is the database a DSN names.
func dbOf(t testing.TB, dsn string) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	require.NoError(t, err)
	return cfg.Database
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
