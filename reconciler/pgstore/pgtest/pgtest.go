// Package pgtest runs a real PostgreSQL server for a test binary: initdb and postgres from the
// machine's PostgreSQL (env TRUEUP_PG_BIN, else `pg_config --bindir`, else the newest
// /usr/lib/postgresql/*/bin), in a temporary directory, listening on a free loopback port and on a
// unix socket inside that directory, as an unprivileged user when the tests run as root (the
// `postgres` user, else `nobody`: PostgreSQL refuses to run as root).
//
// A test package uses it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		dsn := pgtest.Start(t).NewDatabase(t) // a fresh database, dropped when the test ends
//		...
//	}
//
// Start returns the binary's shared server, started on first use and stopped by Main after the
// tests (and, through the parent-death signal, whenever the test binary dies). New returns a
// private server for tests that stop, kill and restart it.
//
// When PostgreSQL is not installed, Start and New skip the test with a message that starts with
// "PostgreSQL tests SKIPPED", and Main repeats it on stderr after the run; with
// TRUEUP_REQUIRE_POSTGRES=1 (make test sets it) they fail the test instead. A PostgreSQL that is
// installed but does not start always fails the test.
//
// The servers are for tests only: trust authentication on the loopback (except for roles made by
// NewRole, which need their password), fsync off, track_commit_timestamp on.
package pgtest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
)

// Environment variables read by the package.
const (
	// EnvBin names the directory holding initdb and postgres.
	EnvBin = "TRUEUP_PG_BIN"
	// EnvRequire set to 1 turns a missing PostgreSQL from a skip into a failure.
	EnvRequire = "TRUEUP_REQUIRE_POSTGRES"
)

// ErrMissing is wrapped by the error of a machine without PostgreSQL's server binaries.
var ErrMissing = errors.New("PostgreSQL server binaries not found")

var (
	mainCalled atomic.Bool

	mu         sync.Mutex // guards shared, sharedErr and skipReason
	shared     *Server
	sharedErr  error
	skipReason string

	running = map[*Server]struct{}{} // servers to stop at exit, guarded by runMu
)

// Main runs the tests of m and then stops every server this package started and removes its
// files. It also does so when the binary is interrupted (SIGINT, SIGTERM). Call it from TestMain.
// after run once the tests are over, before the process exits (a package's own clean-up).
func Main(m *testing.M, after ...func()) {
	mainCalled.Store(true)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		if _, ok := <-sig; ok {
			stopAll()
			os.Exit(130)
		}
	}()
	code := m.Run()
	signal.Stop(sig)
	stopAll()
	for _, f := range after {
		f()
	}
	mu.Lock()
	reason := skipReason
	mu.Unlock()
	if reason != "" {
		fmt.Fprintf(os.Stderr, "\n*** PostgreSQL tests SKIPPED: %s ***\n\n", reason)
	}
	os.Exit(code)
}

// Start returns the test binary's shared server, starting it on first use. It needs Main in TestMain,
// which stops it after the tests. Tests sharing it must not stop it: use New for that.
func Start(t testing.TB) *Server {
	t.Helper()
	if !mainCalled.Load() {
		t.Fatal("pgtest.Start needs pgtest.Main: add func TestMain(m *testing.M) { pgtest.Main(m) }")
	}
	mu.Lock()
	if shared == nil && sharedErr == nil {
		shared, sharedErr = start()
	}
	srv, err := shared, sharedErr
	mu.Unlock()
	if err != nil {
		unavailable(t, err)
	}
	return srv
}

// New starts a private server, stopped and removed when t ends: for tests that stop, kill or
// restart their server.
func New(t testing.TB) *Server {
	t.Helper()
	srv, err := start()
	if err != nil {
		unavailable(t, err)
	}
	t.Cleanup(func() {
		if err := srv.close(); err != nil {
			t.Errorf("stop postgres: %v", err)
		}
	})
	return srv
}

// unavailable skips or fails t for err, the reason a server could not be had.
func unavailable(t testing.TB, err error) {
	t.Helper()
	if !errors.Is(err, ErrMissing) {
		t.Fatalf("start postgres: %v", err)
	}
	if os.Getenv(EnvRequire) == "1" {
		t.Fatalf("PostgreSQL is required (%s=1) but missing: %v", EnvRequire, err)
	}
	mu.Lock()
	skipReason = err.Error()
	mu.Unlock()
	t.Skipf("PostgreSQL tests SKIPPED: %v (install postgresql or set %s; %s=1 makes this a failure)", err, EnvBin, EnvRequire)
}

// stopAll stops every running server and removes the files of all (the process's temp dir).
func stopAll() {
	runMu.Lock()
	list := make([]*Server, 0, len(running))
	for s := range running {
		list = append(list, s)
	}
	runMu.Unlock()
	for _, s := range list {
		if err := s.close(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		}
	}
	if base != "" {
		_ = os.RemoveAll(base)
	}
}

// FindBin returns the directory holding PostgreSQL's initdb and postgres: $TRUEUP_PG_BIN when set
// (and an error when it lacks them), else `pg_config --bindir`, else the newest
// /usr/lib/postgresql/<version>/bin. The error of a machine without them wraps ErrMissing.
func FindBin() (string, error) {
	if dir := os.Getenv(EnvBin); dir != "" {
		if err := hasServer(dir); err != nil {
			return "", fmt.Errorf("%w: %s=%s: %w", ErrMissing, EnvBin, dir, err)
		}
		return dir, nil
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if dir := strings.TrimSpace(string(out)); hasServer(dir) == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return versionOf(b) - versionOf(a) })
	for _, dir := range dirs {
		if hasServer(dir) == nil {
			return dir, nil
		}
	}
	return "", fmt.Errorf("%w: no initdb and postgres in $%s, pg_config --bindir or /usr/lib/postgresql/*/bin (apt-get install postgresql, or make tools)",
		ErrMissing, EnvBin)
}

// hasServer checks that dir holds the executables a server needs.
func hasServer(dir string) error {
	for _, name := range []string{"initdb", "postgres"} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		if info.IsDir() || info.Mode().Perm()&0o111 == 0 {
			return fmt.Errorf("%s is not executable", filepath.Join(dir, name))
		}
	}
	return nil
}

// versionOf is the major version in /usr/lib/postgresql/<version>/bin, or 0.
func versionOf(dir string) int {
	v, err := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	if err != nil {
		return 0
	}
	return v
}
