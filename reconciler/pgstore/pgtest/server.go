package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// readyTimeout bounds how long a server may take to accept connections.
const readyTimeout = 60 * time.Second

// hba lets everyone in over the socket and the loopback without a password, except members of
// pgtest_password (roles made by NewRole), who need theirs.
const hba = `local all all trust
host all +pgtest_password 127.0.0.1/32 scram-sha-256
host all all 127.0.0.1/32 trust
host all all ::1/128 trust
`

// Server is one PostgreSQL server run by this package. Its methods fail the calling test on error.
type Server struct {
	bin  string
	dir  string // everything of this server: data/, its socket, postgres.log
	cred *syscall.Credential
	port int

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited
	dbs    atomic.Int64
}

var (
	baseOnce sync.Once
	base     string // the process's temp dir: template/ (an initdb'ed cluster) and one dir per server
	baseErr  error
	servers  atomic.Int64

	runMu sync.Mutex
)

// start makes a new server from the process's template cluster and starts it.
func start() (*Server, error) {
	baseOnce.Do(func() { base, baseErr = makeTemplate() })
	if baseErr != nil {
		return nil, baseErr
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	bin, err := FindBin()
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin, cred: cred, dir: filepath.Join(base, fmt.Sprintf("srv-%d", servers.Add(1)))}
	if err := s.run("mkdir", "-m", "0700", s.dir); err != nil {
		return nil, err
	}
	if err := s.run("cp", "-a", filepath.Join(base, "template"), filepath.Join(s.dir, "data")); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		s.port, err = freePort()
		if err == nil {
			err = s.launch()
		}
		if err == nil || attempt == 4 || !strings.Contains(err.Error(), "could not bind") {
			break
		}
	}
	if err != nil {
		_ = os.RemoveAll(s.dir)
		return nil, err
	}
	runMu.Lock()
	running[s] = struct{}{}
	runMu.Unlock()
	return s, nil
}

// makeTemplate creates the process's temp dir and runs initdb once into template/.
func makeTemplate() (string, error) {
	bin, err := FindBin()
	if err != nil {
		return "", err
	}
	cred, err := credential()
	if err != nil {
		return "", err
	}
	s := &Server{bin: bin, cred: cred}
	dir, err := s.makeDir(os.TempDir())
	if err != nil && cred != nil && os.TempDir() != "/tmp" {
		dir, err = s.makeDir("/tmp") // $TMPDIR may be private to root
	}
	if err != nil {
		return "", err
	}
	s.dir = dir
	data := filepath.Join(dir, "template")
	if err := s.run(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
		"--encoding=UTF8", "--locale=C", "--no-sync"); err != nil {
		return "", err
	}
	if err := s.run("sh", "-c", `printf '%s' "$1" > "$2"`, "sh", hba, filepath.Join(data, "pg_hba.conf")); err != nil {
		return "", err
	}
	return dir, nil
}

// makeDir makes a temp dir under parent for the server's user, and checks that this user can
// write in it (every directory above it must let the user through).
func (s *Server) makeDir(parent string) (string, error) {
	dir, err := os.MkdirTemp(parent, "trueup-pgtest-")
	if err != nil {
		return "", err
	}
	if s.cred != nil {
		if err := os.Chown(dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			_ = os.RemoveAll(dir)
			return "", fmt.Errorf("give %s to the postgres user: %w", dir, err)
		}
	}
	if err := s.run("test", "-w", dir); err != nil {
		_ = os.RemoveAll(dir)
		return "", fmt.Errorf("the user PostgreSQL runs as cannot write in %s (is a directory above it private?): %w", dir, err)
	}
	return dir, nil
}

// credential is the user PostgreSQL runs as: nil (this process's) unless this process is root, then
// postgres, else nobody.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
	}
	return nil, errors.New("running as root, and no postgres or nobody user to run PostgreSQL as")
}

// run runs a short command as the server's user, in its dir, failing with its output.
func (s *Server) run(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = "/" // somewhere every user may be
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LANG=C", "LC_ALL=C"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w: %s", filepath.Base(name), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// freePort returns a loopback port nobody listens on (a race with other processes is retried by start).
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// launch starts postgres and waits until it accepts connections.
func (s *Server) launch() error {
	logf, err := os.OpenFile(filepath.Join(s.dir, "postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close() // the child has its own copy
	cmd := exec.Command(filepath.Join(s.bin, "postgres"), "-D", filepath.Join(s.dir, "data"),
		"-p", strconv.Itoa(s.port), "-k", s.dir, "-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off", "-c", "full_page_writes=off", "-c", "max_connections=300",
		"-c", "shared_buffers=32MB", "-c", "track_commit_timestamp=on", "-c", "TimeZone=UTC")
	cmd.Dir = s.dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LANG=C", "LC_ALL=C"}
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group, so Kill takes every backend with it; and the parent-death signal, so a
	// test binary that dies (a panic, os.Exit) does not leave a server behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Setpgid: true, Pdeathsig: syscall.SIGQUIT}
	if err := spawn(cmd); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	return s.waitReady(exited)
}

// waitReady polls the server until it accepts a connection, it exits, or readyTimeout passes.
func (s *Server) waitReady(exited chan struct{}) error {
	deadline := time.Now().Add(readyTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgconn.Connect(ctx, s.DSN("postgres"))
		cancel()
		if err == nil {
			_ = conn.Close(context.Background())
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("postgres exited while starting: %s", s.logTail())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.signal(syscall.SIGKILL)
			<-exited
			return fmt.Errorf("postgres not ready after %s: %v: %s", readyTimeout, err, s.logTail())
		}
	}
}

// logTail is the end of the server's log, for errors.
func (s *Server) logTail() string {
	raw, _ := os.ReadFile(filepath.Join(s.dir, "postgres.log"))
	if len(raw) > 2000 {
		raw = raw[len(raw)-2000:]
	}
	return strings.TrimSpace(string(raw))
}

// spawnReq asks the spawner to start cmd.
type spawnReq struct {
	cmd  *exec.Cmd
	done chan error
}

var (
	spawnOnce sync.Once
	spawnCh   = make(chan spawnReq)
)

// spawn starts cmd from one goroutine locked to its OS thread for the life of the process: Linux
// sends the parent-death signal when the thread that started the child exits, not the process.
func spawn(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		go func() {
			runtime.LockOSThread() // never unlocked: the thread lives as long as the process
			for req := range spawnCh {
				req.done <- req.cmd.Start()
			}
		}()
	})
	done := make(chan error, 1)
	spawnCh <- spawnReq{cmd, done}
	return <-done
}

// signal sends sig to the server's process group; false when it is not running.
func (s *Server) signal(sig syscall.Signal) (chan struct{}, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return nil, false
	}
	select {
	case <-s.exited:
		return s.exited, false
	default:
	}
	pid := s.cmd.Process.Pid
	if sig == syscall.SIGKILL {
		pid = -pid // the whole group: a crash of the machine, as far as clients can tell
	}
	_ = syscall.Kill(pid, sig)
	return s.exited, true
}

// stop shuts the server down (fast: clients are disconnected), killing it if it does not exit in time.
func (s *Server) stop() error {
	exited, ok := s.signal(syscall.SIGINT)
	if !ok {
		return nil
	}
	select {
	case <-exited:
		return nil
	case <-time.After(30 * time.Second):
		s.signal(syscall.SIGKILL)
		<-exited
		return errors.New("postgres did not stop within 30s: killed")
	}
}

// close stops the server and removes its files.
func (s *Server) close() error {
	runMu.Lock()
	_, ok := running[s]
	delete(running, s)
	runMu.Unlock()
	if !ok {
		return nil
	}
	err := s.stop()
	if rmErr := os.RemoveAll(s.dir); rmErr != nil && err == nil {
		err = rmErr
	}
	return err
}

// Port is the loopback TCP port the server listens on (the same across Stop and Start).
func (s *Server) Port() int { return s.port }

// DSN is the URL of database on this server, as the superuser postgres (no password: trust).
func (s *Server) DSN(database string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, database)
}

// Stop shuts the server down the way an operator would (fast shutdown: sessions are ended).
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
}

// Kill kills the server and every backend with SIGKILL, as a crash would; Start recovers it.
func (s *Server) Kill(t testing.TB) {
	t.Helper()
	if exited, ok := s.signal(syscall.SIGKILL); ok {
		<-exited
	}
}

// Start starts a stopped or killed server again, on the same port and data.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	if _, running := s.signal(0); running {
		t.Fatal("pgtest: Start of a server that is running")
	}
	// After Kill, backends may take a moment to die and let go of the old shared memory, which
	// postgres checks before it starts: retry while it says so.
	deadline := time.Now().Add(readyTimeout)
	for {
		err := s.launch()
		if err == nil {
			return
		}
		if !strings.Contains(err.Error(), "pre-existing shared memory block") || time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var unsafeName = regexp.MustCompile(`[^a-z0-9_]+`)

// NewDatabase creates an empty database for t, dropped (with its sessions ended) when t ends, and
// returns its DSN.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d_%s", s.dbs.Add(1), unsafeName.ReplaceAllString(strings.ToLower(t.Name()), "_"))
	if len(name) > 63 {
		name = name[:63]
	}
	ident := pgx.Identifier{name}.Sanitize()
	s.Exec(t, "postgres", "CREATE DATABASE "+ident)
	t.Cleanup(func() {
		if _, running := s.signal(0); !running {
			return // a private server the test stopped: its files go with it
		}
		if err := s.exec("postgres", "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database %s: %v", name, err)
		}
	})
	return s.DSN(name)
}

// NewRole creates a login role that must give password to connect over TCP.
func (s *Server) NewRole(t testing.TB, name, password string) {
	t.Helper()
	s.Exec(t, "postgres", `DO $$ BEGIN CREATE ROLE pgtest_password NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`)
	s.Exec(t, "postgres", fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s' IN ROLE pgtest_password",
		pgx.Identifier{name}.Sanitize(), strings.ReplaceAll(password, "'", "''")))
}

// Exec runs sql in database as the superuser, failing t on error.
func (s *Server) Exec(t testing.TB, database, sql string, args ...any) {
	t.Helper()
	if err := s.exec(database, sql, args...); err != nil {
		t.Fatalf("exec %q: %v", sql, err)
	}
}

func (s *Server) exec(database, sql string, args ...any) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.DSN(database))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql, args...)
	return err
}
