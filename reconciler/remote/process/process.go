// Package process is the remote.Executor that runs `trueup runner` as a local child process: the
// protocol end to end on one machine, with the run's token in the child's environment only.
package process

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/trueup/trueup/reconciler/remote"
)

// passedThrough are the daemon's variables a runner gets: what finds programs, reaches the
// network through a proxy and trusts its certificates. Nothing else of the daemon's environment
// (its secrets) reaches a runner.
var passedThrough = []string{
	"PATH", "TMPDIR",
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
	"SSL_CERT_FILE", "SSL_CERT_DIR",
}

// stderrTail is how much of a runner's stderr is kept for the reason of its failure.
const stderrTail = 4096

// Executor starts runners as child processes: Binary with Args ("runner"), in a process group of
// their own, with an environment made of passedThrough, Env and the run's variables.
type Executor struct {
	// Binary is the trueup executable (the daemon's own, os.Executable).
	Binary string
	// Args are the arguments before none other: ["runner"].
	Args []string
	// Env are more variables for every runner (TRUEUP_RUNNER_TERRAFORM...), set by trusted configuration.
	Env map[string]string
	// Interrupt is how long a runner asked to stop (SIGTERM: its Terraform gets an interrupt)
	// has before its process group is killed; 70 s when 0 (Terraform's own 60 s, and some).
	Interrupt time.Duration
}

var _ remote.Executor = (*Executor)(nil)

// Start starts the runner process.
func (e *Executor) Start(ctx context.Context, l remote.Launch) (remote.Task, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	args := e.Args
	if args == nil {
		args = []string{"runner"}
	}
	cmd := exec.Command(e.Binary, args...)
	env := map[string]string{}
	for _, k := range passedThrough {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
		}
	}
	for k, v := range e.Env {
		env[k] = v
	}
	for k, v := range l.Env() {
		env[k] = v
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	// Its output goes to a file, not a pipe: a pipe held open by something it left running would
	// keep Wait from seeing it end.
	out, err := os.CreateTemp("", "trueup-runner-*.log")
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", e.Binary, err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		out.Close()
		_ = os.Remove(out.Name())
		return nil, fmt.Errorf("start %s: %w", e.Binary, err)
	}
	t := &task{cmd: cmd, done: make(chan struct{}), interrupt: e.Interrupt}
	if t.interrupt <= 0 {
		t.interrupt = 70 * time.Second
	}
	go func() {
		t.err = cmd.Wait()
		t.tail = readTail(out)
		out.Close()
		_ = os.Remove(out.Name())
		close(t.done)
	}()
	return t, nil
}

type task struct {
	cmd       *exec.Cmd
	done      chan struct{}
	err       error  // set before done closes
	tail      string // the end of its output, set before done closes
	interrupt time.Duration
}

// Wait returns nil for exit status 0, else the status and the end of the runner's output.
func (t *task) Wait(ctx context.Context) error {
	select {
	case <-t.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if t.err == nil {
		return nil
	}
	msg := strings.TrimSpace(t.tail)
	if msg == "" {
		return fmt.Errorf("runner process: %w", t.err)
	}
	return fmt.Errorf("runner process: %w: %s", t.err, msg)
}

// Stop sends SIGTERM to the runner, which interrupts its Terraform as the local runner does
// (SIGINT, then a kill after 60 s), then, once it has ended or after Interrupt, SIGKILL to its
// whole process group: nothing it started outlives it.
func (t *task) Stop(ctx context.Context, reason string) error {
	pgid := t.cmd.Process.Pid
	defer func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) }()
	select {
	case <-t.done:
		return nil
	default:
	}
	_ = t.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(t.interrupt)
	defer timer.Stop()
	select {
	case <-t.done:
		return nil
	case <-timer.C:
	case <-ctx.Done():
	}
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill runner (%s): %w", reason, err)
	}
	select {
	case <-t.done:
		return nil
	case <-time.After(5 * time.Second):
		return fmt.Errorf("kill runner (%s): process %d did not end", reason, pgid)
	}
}

// readTail returns the last stderrTail bytes of f.
func readTail(f *os.File) string {
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(fi.Size()-stderrTail, 0)
	b := make([]byte, fi.Size()-off)
	n, _ := f.ReadAt(b, off)
	return string(b[:n])
}
