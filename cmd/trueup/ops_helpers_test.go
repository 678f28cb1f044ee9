package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/pgstore/pgtest"
	"github.com/trueup/trueup/reconciler/remote/kubernetes/kubetest"
	"github.com/trueup/trueup/reconciler/terraform/tftest"
)

// TestMain stops the PostgreSQL server the replica tests start and the Kubernetes API server the
// kubernetes executor's test starts, and removes the trueup binary the operations tests build once
// per run.
func TestMain(m *testing.M) {
	pgtest.Main(m, func() {
		if opsBuilt.dir != "" {
			_ = os.RemoveAll(opsBuilt.dir)
		}
	}, kubetest.After())
}

// opsBuilt is the real trueup binary, built at most once per test run.
var opsBuilt struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// opsBinary builds ./cmd/trueup from the repository root, as the acceptance checks do, the first
// time a test asks for it, and returns its path.
func opsBinary(t testing.TB) string {
	t.Helper()
	opsBuilt.once.Do(func() {
		dir, err := os.MkdirTemp("", "trueup-e2e-")
		if err != nil {
			opsBuilt.err = err
			return
		}
		opsBuilt.dir = dir
		opsBuilt.path, opsBuilt.err = tftest.BuildCommand(dir, "./cmd/trueup")
	})
	require.NoError(t, opsBuilt.err)
	return opsBuilt.path
}

// opsDaemonURL is the base URL of the daemon's HTTP API, read from its "trueup started" log line.
func opsDaemonURL(d *daemon) string {
	d.t.Helper()
	var addr string
	d.waitFor("trueup started", func() bool {
		started := d.logs.entries("trueup started")
		if len(started) == 0 {
			return false
		}
		addr, _ = started[0]["listen"].(string)
		return addr != ""
	})
	return "http://" + addr
}

// opsGet returns the status and body of GET url, sent with opsToken (which a daemon without a token ignores).
func opsGet(t *testing.T, url string) (int, string) {
	t.Helper()
	return getWithToken(t, url, opsToken)
}

// getWithToken returns the status and body of GET url, sent with the bearer token.
func getWithToken(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// opsPost sends body (JSON, or nothing when empty) to url with the bearer token (none when empty)
// and returns the status, the Content-Type and the body of the answer.
func opsPost(t *testing.T, url, token, body string) (status int, contentType, reply string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(raw)
}

// opsStacks is GET base/api/v1/stacks, decoded.
func opsStacks(t *testing.T, base string) []reconciler.StackStatus {
	t.Helper()
	code, body := opsGet(t, base+"/api/v1/stacks")
	require.Equal(t, http.StatusOK, code, body)
	var list struct {
		Stacks []reconciler.StackStatus `json:"stacks"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &list), body)
	return list.Stacks
}

// opsStack is GET base/api/v1/stacks/{name}, decoded.
func opsStack(t *testing.T, base, name string) reconciler.StackStatus {
	t.Helper()
	code, body := opsGet(t, base+"/api/v1/stacks/"+name)
	require.Equal(t, http.StatusOK, code, body)
	var s reconciler.StackStatus
	require.NoError(t, json.Unmarshal([]byte(body), &s), body)
	return s
}

// opsExists reports whether path exists.
func opsExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// opsScrape returns each sample of GET base/metrics by its series as exposed, e.g.
// `trueup_runs_total{kind="apply",result="succeeded",stack="stacks/c"}`, and the set of metric
// names that have a TYPE line.
func opsScrape(t *testing.T, base string) (samples map[string]float64, names map[string]bool) {
	t.Helper()
	code, body := opsGet(t, base+"/metrics")
	require.Equal(t, http.StatusOK, code, body)
	samples, names = map[string]float64{}, map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, _, _ := strings.Cut(rest, " ")
			names[name] = true
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		require.Positive(t, i, line)
		v, err := strconv.ParseFloat(line[i+1:], 64)
		require.NoError(t, err, line)
		samples[line[:i]] = v
	}
	return samples, names
}

// opsSlowStack is a stack of one terraform_data whose creation runs command in a local-exec
// provisioner (sh -c). It needs no provider.
func opsSlowStack(command string) string {
	return fmt.Sprintf(`resource "terraform_data" "slow" {
  input = "v1"

  provisioner "local-exec" {
    command = %q
  }
}
`, command)
}

// opsConfigFile writes a trueup.yaml for the real binary into dir and returns its path. The daemon
// logs JSON at debug level to stderr and listens on a free port; extra is more YAML (sections that
// are not written otherwise: slack, api).
func opsConfigFile(t *testing.T, dir, repoURL, dataDir string, grace time.Duration, extra string) string {
	t.Helper()
	bin, rc := tftest.Tools(t)
	var b strings.Builder
	fmt.Fprintf(&b, "repo:\n  url: %q\n  poll_interval: 200ms\n", repoURL)
	fmt.Fprintf(&b, "data_dir: %q\nlisten: 127.0.0.1:0\nshutdown_grace: %s\n", dataDir, grace)
	fmt.Fprintf(&b, "log:\n  format: json\n  level: debug\n")
	fmt.Fprintf(&b, "terraform:\n  binary: %q\n  cli_config_file: %q\n", bin, rc)
	fmt.Fprintf(&b, "drift:\n  interval: 1h\n")
	b.WriteString(extra)
	path := filepath.Join(dir, "trueup.yaml")
	require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o600))
	return path
}

// opsProcess is the real trueup binary running `trueup run`, in a process group of its own so a
// crash of the whole group (trueup and the Terraform it started) can be simulated.
type opsProcess struct {
	*daemon // logs (stderr, JSON) and waitFor; stop is not used
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
}

// opsStartTrueup runs `trueup run --config config` with the environment plus env ("KEY=value").
// The test's cleanup kills the process group if it is still there.
func opsStartTrueup(t *testing.T, config string, env ...string) *opsProcess {
	t.Helper()
	logs := &logBuffer{}
	cmd := exec.Command(opsBinary(t), "run", "--config", config)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = logs
	cmd.Stderr = logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	p := &opsProcess{daemon: &daemon{t: t, logs: logs}, cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.killGroup()
		<-p.exited
		if t.Failed() {
			t.Logf("trueup (pid %d) output:\n%s", cmd.Process.Pid, logs.String())
		}
	})
	return p
}

// url is the daemon's API base URL.
func (p *opsProcess) url() string {
	p.t.Helper()
	p.waitFor("trueup started", func() bool { return p.logs.count("trueup started") > 0 })
	return opsDaemonURL(p.daemon)
}

// waitFor is daemon.waitFor that fails at once when trueup has exited.
func (p *opsProcess) waitFor(what string, cond func() bool) {
	p.t.Helper()
	p.daemon.waitFor(what, func() bool {
		select {
		case <-p.exited:
			p.t.Fatalf("trueup exited while waiting for %s", what)
		default:
		}
		return cond()
	})
}

// signal sends sig to trueup alone (not its Terraform children), as a service manager would.
func (p *opsProcess) signal(sig syscall.Signal) {
	p.t.Helper()
	require.NoError(p.t, p.cmd.Process.Signal(sig))
}

// killGroup kills trueup and everything it started with SIGKILL, like a machine or container crash.
func (p *opsProcess) killGroup() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
}

// exitCode waits (generously) for trueup to exit and returns its exit code.
func (p *opsProcess) exitCode() int {
	p.t.Helper()
	select {
	case <-p.exited:
	case <-time.After(3 * time.Minute):
		p.t.Fatalf("trueup did not exit")
	}
	var ee *exec.ExitError
	if errors.As(p.waitErr, &ee) {
		return ee.ExitCode()
	}
	require.NoError(p.t, p.waitErr)
	return 0
}

// opsSlack is an incoming-webhook stand-in that records every message posted to it.
type opsSlack struct {
	*httptest.Server
	mu       sync.Mutex
	messages []string
}

func newOpsSlack(t *testing.T) *opsSlack {
	s := &opsSlack{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.messages = append(s.messages, string(body))
		s.mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(s.Close)
	return s
}

// containing returns the messages that contain every one of parts.
func (s *opsSlack) containing(parts ...string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, m := range s.messages {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(m, p)
		}
		if all {
			out = append(out, m)
		}
	}
	return out
}

// opsLogIndex is the position of the first log entry with msg and attrs among all JSON log lines, or -1.
func opsLogIndex(logs *logBuffer, msg string, attrs ...string) int {
	for i, line := range strings.Split(logs.String(), "\n") {
		if !strings.Contains(line, `"msg":"`+msg+`"`) {
			continue
		}
		ok := true
		for j := 0; j+1 < len(attrs); j += 2 {
			ok = ok && strings.Contains(line, fmt.Sprintf("%q:%q", attrs[j], attrs[j+1]))
		}
		if ok {
			return i
		}
	}
	return -1
}
