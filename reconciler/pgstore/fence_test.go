package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
)

// writes are every fenced write, each doing something visible.
var writes = map[string]func(ctx context.Context, s reconciler.Store) error{
	"PutStack": func(ctx context.Context, s reconciler.Store) error {
		return s.PutStack(ctx, reconciler.StackState{Name: "net", Failures: 7}, reconciler.Event{Kind: reconciler.EventDriftDetected})
	},
	"StartRun": func(ctx context.Context, s reconciler.Store) error {
		return s.StartRun(ctx, reconciler.RunRecord{ID: "r2", Stack: "net"})
	},
	"FinishRun": func(ctx context.Context, s reconciler.Store) error {
		return s.FinishRun(ctx, reconciler.RunRecord{ID: "r1", Stack: "net", Result: reconciler.ResultSucceeded})
	},
	"Enqueue": func(ctx context.Context, s reconciler.Store) error {
		_, err := s.Enqueue(ctx, reconciler.Event{Kind: reconciler.EventDriftResolved})
		return err
	},
	"Ack": func(ctx context.Context, s reconciler.Store) error { return s.Ack(ctx, 1) },
	"PutBranchPlan": func(ctx context.Context, s reconciler.Store) error {
		return s.PutBranchPlan(ctx, reconciler.BranchPlan{Target: "pr:2", Stack: "net"})
	},
	"DeleteBranchPlans": func(ctx context.Context, s reconciler.Store) error { return s.DeleteBranchPlans(ctx, "pr:1") },
	"PutPull": func(ctx context.Context, s reconciler.Store) error {
		return s.PutPull(ctx, reconciler.PullRequest{Number: 2})
	},
	"DeletePull":  func(ctx context.Context, s reconciler.Store) error { return s.DeletePull(ctx, 1) },
	"RecordMerge": func(ctx context.Context, s reconciler.Store) error { return s.RecordMerge(ctx, "m2", 2) },
	"AddIntent": func(ctx context.Context, s reconciler.Store) error {
		_, err := s.(*Store).AddIntent(ctx, Intent{Kind: "sync", Stack: "net"})
		return err
	},
	"DeleteIntent": func(ctx context.Context, s reconciler.Store) error { return s.(*Store).DeleteIntent(ctx, 1) },
}

// seed writes one record of every kind, for the deletes to have something to delete.
func seed(t *testing.T, s *Store) {
	ctx := t.Context()
	require.NoError(t, s.PutStack(ctx, reconciler.StackState{Name: "net"}))
	require.NoError(t, s.StartRun(ctx, reconciler.RunRecord{ID: "r1", Stack: "net"}))
	_, err := s.Enqueue(ctx, reconciler.Event{Kind: reconciler.EventDriftDetected})
	require.NoError(t, err)
	require.NoError(t, s.PutBranchPlan(ctx, reconciler.BranchPlan{Target: "pr:1", Stack: "net"}))
	require.NoError(t, s.PutPull(ctx, reconciler.PullRequest{Number: 1}))
	require.NoError(t, s.RecordMerge(ctx, "m1", 1))
	_, err = s.AddIntent(ctx, Intent{Kind: "sync", Stack: "net"})
	require.NoError(t, err)
}

// dump is every row of every table of the store's schema, as text: what "changes nothing" compares.
func dump(t *testing.T, dsn string) map[string][]string {
	t.Helper()
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)
	tables, err := pgx.CollectRows(must(conn.Query(ctx,
		`SELECT tablename FROM pg_tables WHERE schemaname = 'trueup' ORDER BY 1`)), pgx.RowTo[string])
	require.NoError(t, err)
	out := map[string][]string{}
	for _, table := range tables {
		rows, err := pgx.CollectRows(must(conn.Query(ctx, fmt.Sprintf(`SELECT t::text FROM trueup.%s t ORDER BY 1`,
			pgx.Identifier{table}.Sanitize()))), pgx.RowTo[string])
		require.NoError(t, err)
		out[table] = rows
	}
	return out
}

func must(rows pgx.Rows, err error) pgx.Rows {
	if err != nil {
		panic(err)
	}
	return rows
}

// A stale leader's writes are refused and change nothing; the new leader's pass. The refusal calls
// OnFenced once.
func TestFencedStaleEpoch(t *testing.T) {
	for name, write := range writes {
		t.Run(name, func(t *testing.T) {
			dsn := newDB(t)
			s := openStore(t, dsn)
			ctx := t.Context()
			seed(t, s)
			old, ok, err := s.Acquire(ctx, "old", time.Hour)
			require.NoError(t, err)
			require.True(t, ok)
			var fenced atomic.Int32
			stale := s.Fenced(Fence{Holder: old.Holder, Epoch: old.Epoch, OnFenced: func() { fenced.Add(1) }})
			require.NoError(t, s.Release(ctx, old.Holder, old.Epoch))
			now, ok, err := s.Acquire(ctx, "new", time.Hour)
			require.NoError(t, err)
			require.True(t, ok)
			leader := s.Fenced(Fence{Holder: now.Holder, Epoch: now.Epoch})

			before := dump(t, dsn)
			err = write(ctx, stale)
			require.ErrorIs(t, err, reconciler.ErrFenced)
			assert.Contains(t, err.Error(), "lease of old at epoch 1")
			assert.Equal(t, before, dump(t, dsn), "a refused write changes nothing")
			require.ErrorIs(t, write(ctx, stale), reconciler.ErrFenced)
			assert.Equal(t, int32(1), fenced.Load(), "OnFenced is called once")

			require.NoError(t, write(ctx, leader), "the new leader writes")
			assert.NotEqual(t, before, dump(t, dsn))
			for _, wrong := range []Fence{{Holder: "new", Epoch: 1}, {Holder: "old", Epoch: 2}, {Holder: "", Epoch: 2}} {
				assert.ErrorIs(t, write(ctx, s.Fenced(wrong)), reconciler.ErrFenced, "%+v", wrong)
			}
		})
	}
}

// A leader whose lease ran out is refused even when no one has taken over yet.
func TestFencedAfterExpiry(t *testing.T) {
	dsn := newDB(t)
	s := openStore(t, dsn)
	ctx := t.Context()
	l, ok, err := s.Acquire(ctx, "a", 400*time.Millisecond)
	require.NoError(t, err)
	require.True(t, ok)
	v := s.Fenced(Fence{Holder: l.Holder, Epoch: l.Epoch})
	require.NoError(t, v.PutStack(ctx, reconciler.StackState{Name: "live"}))
	require.Eventually(t, func() bool {
		cur, now, err := s.Current(ctx)
		return err == nil && !cur.Live(now)
	}, 5*time.Second, 20*time.Millisecond)
	assert.ErrorIs(t, v.PutStack(ctx, reconciler.StackState{Name: "late"}), reconciler.ErrFenced)
	_, err = s.Stack(ctx, "late")
	assert.ErrorIs(t, err, reconciler.ErrNotFound)
	cur, _, err := s.Current(ctx)
	require.NoError(t, err)
	assert.Equal(t, l, cur, "nobody took over; the write was refused on the clock alone")
	_, err = v.Stack(ctx, "live")
	assert.NoError(t, err, "reads are not fenced")
}

// A write that holds the lease row when a takeover comes commits first; the takeover waits for it,
// and the old leader's next write is refused.
func TestFencedWriteBeforeTakeover(t *testing.T) {
	dsn := newDB(t)
	s := openStore(t, dsn)
	ctx := t.Context()
	seed(t, s)
	old, ok, err := s.Acquire(ctx, "old", 500*time.Millisecond)
	require.NoError(t, err)
	require.True(t, ok)
	v := s.Fenced(Fence{Holder: old.Holder, Epoch: old.Epoch})

	// Hold the stack row, so the old leader's write stops after its lease check, inside its transaction.
	blocker, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer blocker.Close(ctx)
	btx, err := blocker.Begin(ctx)
	require.NoError(t, err)
	_, err = btx.Exec(ctx, `SELECT 1 FROM trueup.stacks WHERE name = 'net' FOR UPDATE`)
	require.NoError(t, err)
	wrote := make(chan error, 1)
	go func() { wrote <- v.PutStack(ctx, reconciler.StackState{Name: "net", Failures: 42}) }()
	waitForLockWait(t, dsn, "stacks")

	time.Sleep(600 * time.Millisecond) // the lease runs out while the write is in flight
	took := make(chan bool, 1)
	go func() {
		_, ok, err := s.Acquire(ctx, "new", time.Hour)
		assert.NoError(t, err)
		took <- ok
	}()
	waitForLockWait(t, dsn, "lease")
	select {
	case <-took:
		t.Fatal("the takeover did not wait for the write holding the lease")
	case <-time.After(200 * time.Millisecond):
	}
	require.NoError(t, btx.Rollback(ctx))
	require.NoError(t, <-wrote, "the write checked its lease first, and holds it until it commits")
	require.True(t, <-took, "then the takeover happens")
	st, err := s.Stack(ctx, "net")
	require.NoError(t, err)
	assert.Equal(t, 42, st.Failures)
	assert.ErrorIs(t, v.PutStack(ctx, reconciler.StackState{Name: "net", Failures: 43}), reconciler.ErrFenced)
}

// The leader's renewal does not wait for its own writes in flight, however long they take.
func TestRenewDoesNotWaitForWrites(t *testing.T) {
	dsn := newDB(t)
	s := openStore(t, dsn)
	ctx := t.Context()
	seed(t, s)
	l, ok, err := s.Acquire(ctx, "leader", time.Hour)
	require.NoError(t, err)
	require.True(t, ok)
	v := s.Fenced(Fence{Holder: l.Holder, Epoch: l.Epoch})

	blocker, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer blocker.Close(ctx)
	btx, err := blocker.Begin(ctx)
	require.NoError(t, err)
	_, err = btx.Exec(ctx, `SELECT 1 FROM trueup.stacks WHERE name = 'net' FOR UPDATE`)
	require.NoError(t, err)
	wrote := make(chan error, 1)
	go func() { wrote <- v.PutStack(ctx, reconciler.StackState{Name: "net", Failures: 1}) }()
	waitForLockWait(t, dsn, "stacks") // the write holds the lease row and waits

	quick, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	_, err = s.Renew(quick, l.Holder, l.Epoch, time.Hour)
	require.NoError(t, err, "a renewal is not a key update: it does not wait for the write")
	require.NoError(t, btx.Rollback(ctx))
	require.NoError(t, <-wrote)
}

// waitForLockWait waits until a session waits for a lock in a statement on table.
func waitForLockWait(t *testing.T, dsn, table string) {
	t.Helper()
	require.Eventually(t, func() bool {
		n := scalar[int64](t, dsn, `SELECT count(*) FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND query LIKE '%'||$1||'%'`, table)
		return n > 0
	}, 10*time.Second, 10*time.Millisecond, "no session waits on %s", table)
}

// Writes racing a takeover: each one either committed before the takeover committed, or was
// refused and left nothing. Commit timestamps (track_commit_timestamp) order them.
func TestFencedWritesRacingTakeover(t *testing.T) {
	dsn := newDB(t)
	s := openStore(t, dsn+"&pool_max_conns=8")
	ctx := t.Context()
	old, ok, err := s.Acquire(ctx, "old", 300*time.Millisecond)
	require.NoError(t, err)
	require.True(t, ok)
	w := &racingWriters{v: s.Fenced(Fence{Holder: old.Holder, Epoch: old.Epoch})}
	w.start(t, 4)
	for {
		_, ok, err := s.Acquire(ctx, "new", time.Hour)
		require.NoError(t, err)
		if ok {
			w.taken.Store(true)
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	w.wg.Wait()
	require.NotEmpty(t, w.committed, "the old leader wrote before its lease ran out")
	assert.Len(t, w.refused, 4, "every writer was refused in the end")
	assert.Zero(t, w.after.Load(), "no write begun after the takeover passed")

	stacks, err := s.Stacks(ctx)
	require.NoError(t, err)
	var names []string
	for _, st := range stacks {
		names = append(names, st.Name)
	}
	assert.ElementsMatch(t, w.committed, names, "exactly the writes that succeeded are there")
	late := scalar[int64](t, dsn, `SELECT count(*) FROM trueup.stacks
		WHERE pg_xact_commit_timestamp(xmin) >= (SELECT pg_xact_commit_timestamp(xmin) FROM trueup.lease)`)
	assert.Zero(t, late, "no old leader's write committed after the takeover: %s", strings.Join(names, " "))
}

// racingWriters write fresh stacks through a fenced view, each until its first refusal.
type racingWriters struct {
	v         reconciler.Store
	wg        sync.WaitGroup
	mu        sync.Mutex
	committed []string
	refused   []string
	taken     atomic.Bool  // set once the takeover returned
	after     atomic.Int32 // writes begun after the takeover returned that succeeded
}

func (w *racingWriters) start(t *testing.T, n int) {
	for id := range n {
		w.wg.Go(func() {
			for i := 0; ; i++ {
				name := fmt.Sprintf("w%d-%04d", id, i)
				begunAfter := w.taken.Load()
				err := w.v.PutStack(t.Context(), reconciler.StackState{Name: name})
				w.mu.Lock()
				if err == nil {
					w.committed = append(w.committed, name)
					if begunAfter {
						w.after.Add(1)
					}
				} else {
					assert.ErrorIs(t, err, reconciler.ErrFenced)
					w.refused = append(w.refused, name)
				}
				w.mu.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
}

func TestFencedViewClose(t *testing.T) {
	s := openStore(t, newDB(t))
	ctx := t.Context()
	l, _, err := s.Acquire(ctx, "a", time.Hour)
	require.NoError(t, err)
	v := s.Fenced(Fence{Holder: l.Holder, Epoch: l.Epoch})
	require.NoError(t, v.PutStack(ctx, reconciler.StackState{Name: "net"}))
	require.NoError(t, v.Close())
	assert.Error(t, v.Ping(ctx), "a closed view does not answer")
	assert.Error(t, v.PutStack(ctx, reconciler.StackState{Name: "net"}))
	require.NoError(t, s.Ping(ctx), "closing a view leaves the store open")

	v2 := s.Fenced(Fence{Holder: l.Holder, Epoch: l.Epoch})
	require.NoError(t, s.Close())
	err = v2.Ping(ctx)
	assert.Error(t, err, "closing the store ends its views")
	assert.True(t, errors.Is(err, errClosed))
}

// A replica paused in the middle of a fenced write holds the lease row's share lock; the server
// ends its session after TxIdleTimeout, so the takeover is delayed, not blocked for good.
func TestPausedWriterDoesNotBlockTakeover(t *testing.T) {
	dsn := newDB(t)
	ctx := t.Context()
	s, err := Open(ctx, dsn, Options{Logger: quiet, TxIdleTimeout: 500 * time.Millisecond})
	require.NoError(t, err)
	defer s.Close()
	old, ok, err := s.Acquire(ctx, "old", 200*time.Millisecond)
	require.NoError(t, err)
	require.True(t, ok)

	// What a fenced write does first, on one of the store's own sessions, and then it stops.
	conn, err := s.pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	require.NoError(t, s.fencedView(Fence{Holder: old.Holder, Epoch: old.Epoch}).fence.check(ctx, tx, s.schema))

	start := time.Now()
	waitCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for {
		_, ok, err := s.Acquire(waitCtx, "new", time.Hour)
		require.NoError(t, err, "the takeover waits for the paused write")
		if ok {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	assert.Less(t, time.Since(start), 5*time.Second, "taken over once the paused session was ended")
	assert.Error(t, tx.Commit(ctx), "the paused write cannot commit any more")
}
