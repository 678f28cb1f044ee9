package pgtest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { Main(m) }

func query(t *testing.T, dsn, sql string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	var out string
	err = conn.QueryRow(ctx, sql).Scan(&out)
	return out, err
}

func TestDatabasesAreFreshAndDropped(t *testing.T) {
	srv := Start(t)
	assert.Same(t, srv, Start(t), "one shared server per test binary")
	var first string
	t.Run("a", func(t *testing.T) {
		first = srv.NewDatabase(t)
		second := srv.NewDatabase(t)
		require.NotEqual(t, first, second)
		srv.Exec(t, dbName(first), "CREATE TABLE x (v text)")
		_, err := query(t, second, "SELECT v FROM x")
		require.Error(t, err, "a new database is empty")
		user, err := query(t, first, "SELECT current_user")
		require.NoError(t, err)
		assert.Equal(t, "postgres", user)
	})
	_, err := query(t, first, "SELECT 'x'")
	require.Error(t, err, "the database was dropped when its test ended")
	assert.Contains(t, err.Error(), "does not exist")
}

func TestServerRunsUnprivileged(t *testing.T) {
	srv := Start(t)
	dir, err := query(t, srv.DSN("postgres"), "SHOW data_directory")
	require.NoError(t, err)
	info, err := os.Stat(dir)
	require.NoError(t, err)
	if os.Geteuid() == 0 {
		assert.NotEqual(t, "0", ownerOf(info), "PostgreSQL does not run as root")
	}
	fsync, err := query(t, srv.DSN("postgres"), "SHOW fsync")
	require.NoError(t, err)
	assert.Equal(t, "off", fsync)
}

func TestKillStopStart(t *testing.T) {
	srv := New(t)
	assert.NotSame(t, srv, Start(t), "New makes a private server")
	dsn := srv.NewDatabase(t)
	srv.Exec(t, dbName(dsn), "CREATE TABLE x (v text); INSERT INTO x VALUES ('kept')")

	srv.Kill(t)
	_, err := query(t, dsn, "SELECT v FROM x")
	require.Error(t, err, "a killed server answers nothing")
	srv.Start(t)
	v, err := query(t, dsn, "SELECT v FROM x")
	require.NoError(t, err, "crash recovery kept the committed row")
	assert.Equal(t, "kept", v)

	srv.Stop(t)
	_, err = query(t, dsn, "SELECT v FROM x")
	require.Error(t, err)
	srv.Start(t)
	v, err = query(t, dsn, "SELECT v FROM x")
	require.NoError(t, err)
	assert.Equal(t, "kept", v)
}

func TestPasswordRoles(t *testing.T) {
	srv := Start(t)
	srv.NewRole(t, "alice_pw", "s3cret'quote")
	ok := "postgres://alice_pw:s3cret%27quote@127.0.0.1:" + itoa(srv.Port()) + "/postgres?sslmode=disable"
	user, err := query(t, ok, "SELECT current_user")
	require.NoError(t, err)
	assert.Equal(t, "alice_pw", user)
	bad := "postgres://alice_pw:wrong@127.0.0.1:" + itoa(srv.Port()) + "/postgres?sslmode=disable"
	_, err = query(t, bad, "SELECT current_user")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "password authentication failed")
}

// dbName is the database a DSN names.
func dbName(dsn string) string {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		panic(err)
	}
	return cfg.Database
}

func TestFindBin(t *testing.T) {
	t.Setenv(EnvBin, filepath.Join(t.TempDir(), "nowhere"))
	_, err := FindBin()
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrMissing))
	assert.Contains(t, err.Error(), EnvBin+"=", "the error names the setting that is wrong")
}
