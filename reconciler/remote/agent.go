package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/trueup/trueup/reconciler"
)

// lostAfter is how long a runner keeps running without reaching the control plane before it
// gives up its run.
const lostAfter = 2 * time.Minute

// Agent runs one run in a runner: it fetches the job and the tree, runs Terraform with a local
// reconciler.Runner, streams its log lines, and reports the result.
type Agent struct {
	Client *Client
	// NewRunner returns the local Terraform runner for job; its log lines go to log.
	NewRunner func(job Job, log *slog.Logger) (reconciler.Runner, error)
	// TempDir is where the run's checkout and data dir are made ("" for the system's).
	TempDir string
	// Log is the runner's own log (its stderr); nil discards.
	Log *slog.Logger
}

// Run runs the run and reports its result. It returns nil when the control plane took the
// result (a Terraform failure is a result too), and an error saying why otherwise: the control
// plane cannot be reached, or refused the run's token (ErrRunGone).
func (a *Agent) Run(ctx context.Context) error {
	log := a.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	job, err := a.Client.Job(ctx)
	if err != nil {
		return fmt.Errorf("fetch the job from %s: %w", a.Client.URL, err)
	}
	log.Info("run", "run", job.RunID, "stack", job.Stack.Name, "purpose", job.Purpose, "untrusted", job.Untrusted)
	sink := &logSink{}
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		a.heartbeat(runCtx, job, sink, cancel)
	}()
	res, err := a.execute(runCtx, job, slog.New(slog.NewTextHandler(sink, &slog.HandlerOptions{Level: slog.LevelDebug})))
	cancel(nil)
	<-hbDone
	if cause := context.Cause(runCtx); err == nil && cause != nil && !errors.Is(cause, context.Canceled) {
		err = cause
	}
	if err != nil {
		return err
	}
	if lines := sink.take(); len(lines) > 0 {
		if err := a.Client.Log(ctx, lines); err != nil {
			log.Warn("send the last log lines", "err", err)
		}
	}
	if err := a.Client.Result(ctx, res); err != nil {
		return fmt.Errorf("report the result to %s: %w", a.Client.URL, err)
	}
	if res.Error != nil {
		log.Info("run failed; result reported", "kind", res.Error.Kind, "op", res.Error.Op)
	} else {
		log.Info("run finished; result reported")
	}
	return nil
}

// heartbeat says the runner is alive every job.HeartbeatMillis, sending the log lines gathered
// meanwhile. A refused token or a control plane lost for lostAfter ends the run (cancel).
func (a *Agent) heartbeat(ctx context.Context, job Job, sink *logSink, cancel context.CancelCauseFunc) {
	every := time.Duration(job.HeartbeatMillis) * time.Millisecond
	if every <= 0 {
		every = DefaultHeartbeatInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	lastOK := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var err error
		if lines := sink.take(); len(lines) > 0 {
			err = a.Client.Log(ctx, lines)
		} else {
			err = a.Client.Heartbeat(ctx)
		}
		switch {
		case err == nil:
			lastOK = time.Now()
		case errors.Is(err, ErrRunGone):
			cancel(err)
			return
		case time.Since(lastOK) > lostAfter:
			cancel(fmt.Errorf("lost the control plane at %s for %s: %w", a.Client.URL, lostAfter, err))
			return
		}
	}
}

// execute runs the job in a fresh checkout, with a data dir of its own or the job's. The Result says how Terraform did; the error is for
// what the control plane must not be told as a result (it cannot be reached).
func (a *Agent) execute(ctx context.Context, job Job, tfLog *slog.Logger) (Result, error) {
	dir, err := os.MkdirTemp(a.TempDir, "trueup-runner-")
	if err != nil {
		return failed("runner", err), nil
	}
	defer removeAll(dir)
	work, data := filepath.Join(dir, "work"), filepath.Join(dir, "data")
	if job.DataDir != "" {
		data = job.DataDir // the daemon's own, on the filesystem this runner shares
	}
	for _, d := range []string{work, data} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return failed("runner", err), nil
		}
	}
	planFile, res, err := a.fetch(ctx, job, work, data)
	switch {
	case err != nil:
		return Result{}, err
	case res != nil:
		return *res, nil
	}
	runner, err := a.NewRunner(job, tfLog)
	if err != nil {
		return failed("runner", err), nil
	}
	spec := reconciler.RunSpec{
		Stack:    reconciler.Stack{Name: job.Stack.Name, Dir: job.Stack.Dir, Workspace: job.Stack.Workspace, VarFiles: job.Stack.VarFiles},
		Revision: reconciler.Revision(job.Revision), Workdir: work, DataDir: data, StatePath: job.StatePath,
		Env: job.Env, Render: job.Render, Untrusted: job.Untrusted, RunID: job.RunID, SeedDataDir: job.SeedDataDir,
	}
	if job.Purpose == PurposeApply {
		ar, err := runner.Apply(ctx, spec, &reconciler.Plan{File: planFile})
		if err != nil {
			return Result{Error: errorResult(err)}, nil
		}
		return Result{Apply: &ApplyResult{TerraformMillis: ar.TerraformTime.Milliseconds()}}, nil
	}
	p, err := runner.Plan(ctx, spec)
	if err != nil {
		return Result{Error: errorResult(err)}, nil
	}
	b, err := readPlanOutput(p.File)
	if err != nil {
		return failed("plan", fmt.Errorf("read the plan file: %w", err)), nil
	}
	sum, err := a.Client.PutPlanFile(ctx, b)
	if err != nil {
		return Result{}, fmt.Errorf("upload the plan file to %s: %w", a.Client.URL, err)
	}
	return Result{Plan: &PlanResult{SHA256: sum, Changes: p.Changes, Drift: p.Drift, Complete: p.Complete,
		OutputChanges: p.OutputChanges, Rendered: p.Rendered, TerraformMillis: p.TerraformTime.Milliseconds()}}, nil
}

// fetch unpacks the tree into work and, for an apply, writes the vetted plan file into data. A
// failure is a Result to report, or an error when the control plane refused the token.
func (a *Agent) fetch(ctx context.Context, job Job, work, data string) (string, *Result, error) {
	fail := func(op string, err error) (string, *Result, error) {
		if errors.Is(err, ErrRunGone) {
			return "", nil, err
		}
		res := failed(op, err)
		return "", &res, nil
	}
	if err := a.Client.Tree(ctx, work); err != nil {
		return fail("fetch tree", err)
	}
	if job.Purpose != PurposeApply {
		return "", nil, nil
	}
	b, err := a.Client.PlanFile(ctx, job.PlanSHA256)
	if err != nil {
		return fail("fetch plan file", err)
	}
	planFile := filepath.Join(data, PlanFileName)
	if err := os.WriteFile(planFile, b, 0o600); err != nil {
		return fail("fetch plan file", err)
	}
	return planFile, nil, nil
}

// readPlanOutput reads the plan file Terraform wrote, in a directory untrusted code can write:
// only a regular file, never through a symlink, never blocking, at most MaxPlanFile bytes.
func readPlanOutput(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxPlanFile+1))
	if err == nil && len(b) > MaxPlanFile {
		err = fmt.Errorf("%s is larger than %d bytes", path, MaxPlanFile)
	}
	return b, err
}

func failed(op string, err error) Result {
	return Result{Error: &ErrorResult{Kind: reconciler.KindFailed.String(), Op: op, Message: err.Error()}}
}

// removeAll removes dir even when untrusted code left directories without permissions in it.
func removeAll(dir string) {
	if os.RemoveAll(dir) == nil {
		return
	}
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if d != nil && d.IsDir() {
			_ = os.Chmod(p, 0o700)
		}
		return nil
	})
	_ = os.RemoveAll(dir)
}

// logSink gathers log lines between two heartbeats, at most maxLogBody bytes of them.
type logSink struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	dropped int
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buf.Len()+len(p) > maxLogBody-128 {
		s.dropped++
		return len(p), nil
	}
	return s.buf.Write(p)
}

func (s *logSink) take() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dropped > 0 {
		fmt.Fprintf(&s.buf, "[%d log lines dropped]\n", s.dropped)
		s.dropped = 0
	}
	out := bytes.Clone(s.buf.Bytes())
	s.buf.Reset()
	return out
}
