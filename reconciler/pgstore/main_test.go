package pgstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler/pgstore/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// schemaFor is the schema of the store kept "under" dir: the same dir, the same data.
func schemaFor(dir string) string {
	sum := sha256.Sum256([]byte(dir))
	return "s_" + hex.EncodeToString(sum[:8])
}

// newDB returns the DSN of a fresh database on the shared server.
func newDB(t testing.TB) string {
	t.Helper()
	return pgtest.Start(t).NewDatabase(t)
}

// openStore opens a store on dsn, closed when t ends.
func openStore(t testing.TB, dsn string) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Open(ctx, dsn, Options{Logger: quiet})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// quiet is the logger of stores whose logs no test reads.
var quiet = slog.New(slog.DiscardHandler)
