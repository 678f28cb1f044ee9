package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler/pgstore/pgtest"
)

// listen runs s.Listen on channel in the background and returns what it hears and how it ended.
func listen(t *testing.T, ctx context.Context, s *Store, channel string) (<-chan string, <-chan error) {
	heard := make(chan string, 100)
	done := make(chan error, 1)
	go func() { done <- s.Listen(ctx, channel, func(p string) { heard <- p }) }()
	return heard, done
}

// next is the next payload heard, failing after a while.
func next(t *testing.T, heard <-chan string) string {
	t.Helper()
	select {
	case p := <-heard:
		return p
	case <-time.After(20 * time.Second):
		t.Fatal("nothing heard")
		return ""
	}
}

func TestNotifyListen(t *testing.T) {
	dsn := newDB(t)
	standby, leader := openStore(t, dsn), openStore(t, dsn)
	ctx, cancel := context.WithCancel(t.Context())
	heard, done := listen(t, ctx, leader, "trueup_wake")
	other, _ := listen(t, ctx, leader, "Trueup_Wake")
	require.Equal(t, "", next(t, heard), "listening: catch up on what came before")
	require.Equal(t, "", next(t, other))

	for i := range 3 {
		require.NoError(t, standby.Notify(ctx, "trueup_wake", fmt.Sprint("webhook ", i)))
	}
	for i := range 3 {
		assert.Equal(t, fmt.Sprint("webhook ", i), next(t, heard), "in order")
	}
	require.NoError(t, standby.Notify(ctx, "Trueup_Wake", "other"))
	assert.Equal(t, "other", next(t, other), "channel names are exact")
	select {
	case p := <-heard:
		t.Fatalf("heard %q on another channel", p)
	case <-time.After(100 * time.Millisecond):
	}

	cancel()
	assert.ErrorIs(t, <-done, context.Canceled, "Listen returns when ctx ends")
}

func TestListenEndsWithTheStore(t *testing.T) {
	s, err := Open(t.Context(), newDB(t), Options{Logger: quiet})
	require.NoError(t, err)
	heard, done := listen(t, t.Context(), s, "wake")
	require.Equal(t, "", next(t, heard))
	require.NoError(t, s.Close())
	select {
	case err := <-done:
		assert.True(t, errors.Is(err, errClosed), "%v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Listen outlived its store")
	}
	assert.Error(t, s.Listen(t.Context(), "wake", func(string) {}), "a closed store does not listen")
}

// Listen survives the server going away: it reconnects and says so with fn(""), and hears what is
// sent afterwards.
func TestListenReconnects(t *testing.T) {
	srv := pgtest.New(t)
	dsn := srv.NewDatabase(t)
	var logs syncBuffer
	s, err := Open(t.Context(), dsn, Options{Logger: slogTo(&logs)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	heard, _ := listen(t, t.Context(), s, "wake")
	require.Equal(t, "", next(t, heard))
	require.NoError(t, s.Notify(t.Context(), "wake", "before"))
	require.Equal(t, "before", next(t, heard))

	srv.Kill(t)
	time.Sleep(300 * time.Millisecond) // a few failed reconnects
	srv.Start(t)
	require.Equal(t, "", next(t, heard), "reconnected: catch up")
	var err2 error
	require.Eventually(t, func() bool { err2 = s.Notify(t.Context(), "wake", "after"); return err2 == nil },
		10*time.Second, 50*time.Millisecond)
	assert.Equal(t, "after", next(t, heard))
	assert.Contains(t, logs.String(), "listen: connection lost; reconnecting")
}

func TestRecordDelivery(t *testing.T) {
	dsn := newDB(t)
	a, b := openStore(t, dsn), openStore(t, dsn)
	ctx := t.Context()
	fresh, err := a.RecordDelivery(ctx, "github", "d1")
	require.NoError(t, err)
	assert.True(t, fresh)
	fresh, err = b.RecordDelivery(ctx, "github", "d1")
	require.NoError(t, err)
	assert.False(t, fresh, "another replica saw it")
	fresh, err = b.RecordDelivery(ctx, "gitlab", "d1")
	require.NoError(t, err)
	assert.True(t, fresh, "ids are per source")
	_, err = a.RecordDelivery(ctx, "", "d2")
	assert.Error(t, err)

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
	)
	for i := range 10 {
		wg.Go(func() {
			s := []*Store{a, b}[i%2]
			ok, err := s.RecordDelivery(ctx, "github", "burst")
			assert.NoError(t, err)
			if ok {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 1, wins, "a delivery received many times at once is fresh once")
}

func TestRecordDeliveryPrunesOldRecords(t *testing.T) {
	dsn := newDB(t)
	openStore(t, dsn)
	srv := pgtest.Start(t)
	srv.Exec(t, dbOf(t, dsn), `INSERT INTO trueup.deliveries (source, id, received) VALUES
		('github', 'old', now() - interval '8 days'), ('github', 'recent', now() - interval '6 days')`)
	s := openStore(t, dsn) // a new process prunes at its first delivery
	_, err := s.RecordDelivery(t.Context(), "github", "new")
	require.NoError(t, err)
	assert.Equal(t, []string{"new", "recent"}, idsOf(t, dsn))
	fresh, err := s.RecordDelivery(t.Context(), "github", "recent")
	require.NoError(t, err)
	assert.False(t, fresh, "kept 7 days")
	fresh, err = s.RecordDelivery(t.Context(), "github", "old")
	require.NoError(t, err)
	assert.True(t, fresh, "forgotten after 7 days")
}

func idsOf(t *testing.T, dsn string) []string {
	t.Helper()
	return strings.Split(scalar[string](t, dsn, `SELECT string_agg(id, ',' ORDER BY id) FROM trueup.deliveries`), ",")
}

func TestIntents(t *testing.T) {
	s := openStore(t, newDB(t))
	ctx := t.Context()
	got, err := s.Intents(ctx)
	require.NoError(t, err)
	assert.Empty(t, got)

	given := time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC)
	id1, err := s.AddIntent(ctx, Intent{Kind: "sync", Stack: "net"})
	require.NoError(t, err)
	id2, err := s.AddIntent(ctx, Intent{Kind: "approve", Stack: "web", Revision: "abc", Created: given})
	require.NoError(t, err)
	id3, err := s.AddIntent(ctx, Intent{Kind: "comment", PullRequest: 12, Comment: 9000000001, ID: 99})
	require.NoError(t, err)
	assert.Less(t, id1, id2)
	assert.Less(t, id2, id3)
	_, err = s.AddIntent(ctx, Intent{Stack: "net"})
	assert.Error(t, err, "an intent without a kind")

	got, err = s.Intents(ctx)
	require.NoError(t, err)
	require.Len(t, got, 3)
	assert.Equal(t, []int64{id1, id2, id3}, []int64{got[0].ID, got[1].ID, got[2].ID}, "oldest first; the store sets IDs")
	assert.WithinDuration(t, time.Now(), got[0].Created, time.Minute, "created by the database's clock")
	assert.Equal(t, Intent{ID: id2, Kind: "approve", Stack: "web", Revision: "abc", Created: given}, got[1])
	assert.Equal(t, 12, got[2].PullRequest, "a comment command's pull request")
	assert.Equal(t, int64(9000000001), got[2].Comment, "and its comment, past 32 bits")

	require.NoError(t, s.DeleteIntent(ctx, id2))
	require.NoError(t, s.DeleteIntent(ctx, id2), "deleting a missing intent")
	got, err = s.Intents(ctx)
	require.NoError(t, err)
	assert.Len(t, got, 2)
}

func slogTo(b *syncBuffer) *slog.Logger { return slog.New(slog.NewTextHandler(b, nil)) }
