package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Secrets the daemon reads from its environment (config keys *_env name them). They are generated
// per daemon and never printed.
const (
	envAPIToken      = "TRUEUP_BENCH_API_TOKEN"
	envGitHubToken   = "TRUEUP_BENCH_GITHUB_TOKEN"
	envWebhookSecret = "TRUEUP_BENCH_WEBHOOK_SECRET"
)

// daemonConfig is the part of trueup.yaml a scenario chooses.
type daemonConfig struct {
	RepoURL string
	// Workers is the daemon's workers; 0 leaves its default.
	Workers      int
	PollInterval time.Duration
	// GitHubAPI is the stub GitHub API's URL; empty runs without GitHub.
	GitHubAPI string
	// Extra is more YAML, appended (a store section); Env is more of the daemon's environment.
	Extra string
	Env   []string
}

// daemon is bin/trueup running as a child process, with its JSON log parsed as it arrives.
type daemon struct {
	name    string
	dataDir string
	cmd     *exec.Cmd
	logs    *logStore
	addr    string // http://127.0.0.1:port
	token   string
	env     []string // more of its environment (daemonConfig.Env)
	secret  string   // webhook secret
	done    chan error
	// listPace is the least time between two lists of every stack while the bench waits (see listEvery).
	listPace time.Duration
}

// startDaemon writes a config for c into a new directory, starts bin/trueup on it and waits for
// the "trueup started" log line, which carries the listen address.
func (e *env) startDaemon(ctx context.Context, name string, c daemonConfig) (*daemon, error) {
	dir, err := e.dir(name)
	if err != nil {
		return nil, err
	}
	d := &daemon{name: name, dataDir: filepath.Join(dir, "data"), token: randomHex(16), secret: randomHex(16), done: make(chan error, 1), env: c.Env}
	cfgPath := filepath.Join(dir, "trueup.yaml")
	if err := os.WriteFile(cfgPath, []byte(e.daemonYAML(d.dataDir, c)), 0o600); err != nil {
		return nil, fmt.Errorf("write daemon config: %w", err)
	}
	return d, d.start(ctx, e, cfgPath, filepath.Join(dir, "daemon.log"))
}

// restart starts the stopped daemon again on the same data directory with config c.
func (d *daemon) restart(ctx context.Context, e *env, c daemonConfig) error {
	dir := filepath.Dir(d.dataDir)
	cfgPath := filepath.Join(dir, "trueup.yaml")
	if err := os.WriteFile(cfgPath, []byte(e.daemonYAML(d.dataDir, c)), 0o600); err != nil {
		return fmt.Errorf("write daemon config: %w", err)
	}
	d.done = make(chan error, 1)
	return d.start(ctx, e, cfgPath, filepath.Join(dir, "daemon.log"))
}

func (d *daemon) start(ctx context.Context, e *env, cfgPath, logPath string) error {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("daemon log: %w", err)
	}
	// Not CommandContext: the daemon is stopped with SIGTERM so it shuts down cleanly.
	cmd := exec.Command(e.trueup, "run", "--config", cfgPath)
	cmd.Env = append(os.Environ(),
		envAPIToken+"="+d.token, envGitHubToken+"=bench-github-token", envWebhookSecret+"="+d.secret)
	cmd.Env = append(cmd.Env, d.env...)
	cmd.Stdout = logFile
	stderr, err := cmd.StderrPipe()
	if err != nil {
		logFile.Close()
		return err
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start %s: %w", e.trueup, err)
	}
	d.cmd = cmd
	if d.logs == nil {
		d.logs = newLogStore()
	}
	started := make(chan string, 1)
	go func() {
		d.logs.consume(io.TeeReader(stderr, logFile), started)
		d.done <- cmd.Wait()
		logFile.Close()
	}()
	select {
	case addr := <-started:
		d.addr = "http://" + addr
		return nil
	case err := <-d.done:
		d.cmd = nil // exited and waited for: stop and kill have nothing to wait for
		return fmt.Errorf("trueup exited before it started (%v); see %s", err, logPath)
	case <-time.After(60 * time.Second):
		d.kill()
		return fmt.Errorf("trueup did not start within 60s; see %s", logPath)
	case <-ctx.Done():
		d.kill()
		return ctx.Err()
	}
}

func (e *env) daemonYAML(dataDir string, c daemonConfig) string {
	var b strings.Builder
	fmt.Fprintf(&b, "repo:\n  url: %q\n  branch: main\n  poll_interval: %s\n", c.RepoURL, c.PollInterval)
	fmt.Fprintf(&b, "data_dir: %q\nlisten: 127.0.0.1:0\nshutdown_grace: 30s\n", dataDir)
	if c.Workers > 0 { // else the daemon's default, from the machine
		fmt.Fprintf(&b, "workers: %d\n", c.Workers)
	}
	fmt.Fprintf(&b, "log:\n  format: json\n  level: debug\n")
	fmt.Fprintf(&b, "terraform:\n  binary: %q\n  cli_config_file: %q\n", e.terraform, e.tfrc)
	// A year: drift checks run only when the bench asks (the first ones are spread over one interval).
	fmt.Fprintf(&b, "drift:\n  interval: 8760h\n  remediate: auto\n")
	// Profiles behind the token, for a look at a running bench daemon (docs/BENCHMARKS.md).
	fmt.Fprintf(&b, "api:\n  token_env: %s\n  pprof: true\n", envAPIToken)
	if c.GitHubAPI != "" {
		fmt.Fprintf(&b, "github:\n  owner: %s\n  repo: %s\n  api_url: %q\n  token_env: %s\n  webhook_secret_env: %s\n",
			stubOwner, stubRepo, c.GitHubAPI, envGitHubToken, envWebhookSecret)
	}
	b.WriteString(c.Extra)
	return b.String()
}

// pid is the daemon's process id.
func (d *daemon) pid() int { return d.cmd.Process.Pid }

// stop sends SIGTERM and waits for a clean exit (up to a minute, then kills).
func (d *daemon) stop() error {
	if d.cmd == nil || d.cmd.Process == nil {
		return nil
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		d.cmd = nil
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return fmt.Errorf("trueup %s exited with %v", d.name, err)
		}
		return err
	case <-time.After(60 * time.Second):
		d.kill()
		return fmt.Errorf("trueup %s did not stop within 60s", d.name)
	}
}

func (d *daemon) kill() {
	if d.cmd != nil && d.cmd.Process != nil {
		_ = d.cmd.Process.Kill()
		<-d.done
		d.cmd = nil
	}
}

// memory returns the daemon's VmRSS and VmHWM (peak) in MB, from /proc/<pid>/status.
func (d *daemon) memory() (rss, peak float64, err error) {
	path := fmt.Sprintf("/proc/%d/status", d.pid())
	r, ok1 := procKB(path, "VmRSS")
	p, ok2 := procKB(path, "VmHWM")
	if !ok1 || !ok2 {
		return 0, 0, fmt.Errorf("read %s: no VmRSS/VmHWM", path)
	}
	return float64(r) / 1024, float64(p) / 1024, nil
}

// waitFor polls cond every interval until it returns true, an error, or timeout passes.
func waitFor(ctx context.Context, what string, timeout, interval time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s", timeout, what)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}

// scanLines calls fn for every line of r.
func scanLines(r io.Reader, fn func(line []byte)) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		fn(sc.Bytes())
	}
}
