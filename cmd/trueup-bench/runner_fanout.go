package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"
)

// The runner fan-out: a pull request changing a module that every one of 200 stacks calls.
const (
	runnerFanoutStacks = 200
	runnerMaxParallel  = 50
	// runnerFanoutTarget is runner.fanout_ratio's target (docs/BENCHMARKS.md says why).
	runnerFanoutTarget = 1.5
)

// benchRunnerFanout applies a 200-stack repository whose stacks all call modules/fanout-leaf (each
// holds that module's local_file and modules/common's, nothing else), with the daemon's default
// workers and the local executor. Then a pull request changing the module: 200 plans, timed from
// the webhook to the pull request's finished comment. Then the daemon is restarted on the same data
// dir with runner.executor: process, runner.max_parallel: 50 and workers (default max_parallel+1,
// since one pull request holds at most all workers but one), and a second pull request changing the
// module is timed the same way. runner.fanout_ratio is process ÷ local. Each is one measurement:
// 200 plans are their own sample.
func benchRunnerFanout(ctx context.Context, e *env, processWorkers int, res *Results) error {
	if processWorkers <= 0 {
		processWorkers = runnerMaxParallel + 1
	}
	f, cfg, err := startFanoutBench(ctx, e)
	if f != nil {
		defer f.stub.close()
	}
	if f != nil && f.d != nil {
		defer f.d.stop()
	}
	if err != nil {
		return err
	}
	local, err := f.pullRequest(ctx, 901, executorLocal)
	if err != nil {
		return fmt.Errorf("local: %w", err)
	}
	if err := f.d.stop(); err != nil {
		return err
	}
	cfg.Workers, cfg.Extra = processWorkers, runnerYAML(executorProcess, runnerMaxParallel)
	if err := f.d.restart(ctx, e, cfg); err != nil {
		return err
	}
	process, err := f.pullRequest(ctx, 902, executorProcess)
	if err != nil {
		return fmt.Errorf("process: %w", err)
	}
	r := &res.Runner
	r.FanoutStacks, r.MaxParallel = f.stacks, runnerMaxParallel
	r.FanoutLocalWorkers, r.FanoutProcessWorkers = local.Workers, process.Workers
	r.FanoutLocalS, r.FanoutProcessS = round(local.Total.Seconds(), 2), round(process.Total.Seconds(), 2)
	r.FanoutRatio = round(process.Total.Seconds()/local.Total.Seconds(), 3)
	res.note("runner_fanout", map[string]any{
		"local": local.note(), "process": process.note(),
		"how": "one daemon, one 200-stack repository whose stacks all call modules/fanout-leaf, applied with the " +
			"local executor and default workers; a pull request changing the module, from the signed webhook to the " +
			"last comment write on the GitHub stand-in once the daemon is idle; the daemon restarted with " +
			"runner.executor: process, max_parallel 50 and more workers, and a second such pull request; " +
			"peak_in_flight = the most plans of the pull request between \"plan started\" and \"plan finished\" at once",
	})
	e.logf("  %d-stack module fan-out on a pull request: local %s (%d workers), process %s (%d workers, max_parallel %d): ratio %.2f",
		f.stacks, local.Total.Round(time.Millisecond), local.Workers, process.Total.Round(time.Millisecond),
		process.Workers, runnerMaxParallel, r.FanoutRatio)
	return nil
}

// startFanoutBench makes the 200-stack repository and the GitHub stand-in, starts a daemon with the
// local executor and default workers on them, and waits until every stack is applied. It returns
// the config the daemon runs with; the stand-in and the daemon, once made, are returned even with
// an error, to be closed and stopped.
func startFanoutBench(ctx context.Context, e *env) (*fanoutBench, daemonConfig, error) {
	dir, err := e.dir("runner-fanout")
	if err != nil {
		return nil, daemonConfig{}, err
	}
	repo, err := newGitRepo(dir)
	if err != nil {
		return nil, daemonConfig{}, err
	}
	in := infra{Stacks: runnerFanoutStacks, OutDir: filepath.Join(dir, "out"), LockFile: e.lockFile}
	for i := range in.Stacks {
		in.Direct = append(in.Direct, i)
	}
	head, err := repo.commitAndPush("every stack calls modules/fanout-leaf", in.Files())
	if err != nil {
		return nil, daemonConfig{}, err
	}
	stub, err := startGHStub()
	if err != nil {
		return nil, daemonConfig{}, err
	}
	f := &fanoutBench{e: e, repo: repo, stub: stub, stacks: in.Stacks}
	cfg := daemonConfig{RepoURL: repo.URL(), PollInterval: time.Hour, GitHubAPI: stub.url, Extra: runnerYAML(executorLocal, 0)}
	d, err := e.startDaemon(ctx, "runner-fanout/daemon", cfg)
	if err != nil {
		return f, cfg, err
	}
	f.d, d.listPace = d, time.Second
	t0 := time.Now()
	failed, err := e.waitApplied(ctx, d, names(in.Stacks), head, 10*time.Minute)
	if err == nil && len(failed) > 0 {
		err = fmt.Errorf("initial apply failed for %d stacks, first %s", len(failed), failed[0])
	}
	if err == nil {
		e.logf("  %d stacks applied in %s (local)", in.Stacks, time.Since(t0).Round(100*time.Millisecond))
	}
	return f, cfg, err
}

// fanoutBench is the runner fan-out's daemon and repository.
type fanoutBench struct {
	e      *env
	d      *daemon
	repo   *gitRepo
	stub   *ghStub
	stacks int
}

// fanoutRun is one pull request's fan-out.
type fanoutRun struct {
	Workers int
	// Total is the webhook to the last comment write; Plans is the first "plan started" to the
	// last "plan finished".
	Total, Plans  time.Duration
	PeakInFlight  int
	CommentWrites int
}

func (r fanoutRun) note() map[string]any {
	return map[string]any{"workers": r.Workers, "total_ms": ms(r.Total), "plans_ms": ms(r.Plans),
		"peak_in_flight": r.PeakInFlight, "comment_writes": r.CommentWrites}
}

// pullRequest opens pull request n changing modules/fanout-leaf, once the daemon is idle, and times
// it from the webhook until the comment written after its last plan.
func (f *fanoutBench) pullRequest(ctx context.Context, n int, label string) (fanoutRun, error) {
	branch := fmt.Sprintf("fanout-%s", label)
	rev, err := f.repo.pullRequest(n, branch, map[string]string{"modules/fanout-leaf/main.tf": leafModule(label)})
	if err != nil {
		return fanoutRun{}, err
	}
	pr := stubPull{Number: n, Branch: branch, Head: rev, Stack: -1}
	f.stub.addPull(pr)
	if err := f.waitQuiet(ctx, 2*time.Second); err != nil {
		return fanoutRun{}, err
	}
	target := fmt.Sprintf("pr:%d", n)
	t0 := time.Now()
	if err := f.d.webhook(ctx, "pull_request", pullRequestEvent("opened", pr)); err != nil {
		return fanoutRun{}, err
	}
	lastPlan, err := f.waitPlans(ctx, target, t0)
	if err != nil {
		return fanoutRun{}, err
	}
	err = waitFor(ctx, "the final comment on "+target, 2*time.Minute, 50*time.Millisecond, func() (bool, error) {
		return len(f.stub.commentWrites(n, lastPlan)) > 0, nil
	})
	if err != nil {
		return fanoutRun{}, err
	}
	if err := waitIdle(ctx, f.d, 2*time.Second, 2*time.Minute); err != nil {
		return fanoutRun{}, err
	}
	writes := f.stub.commentWrites(n, t0)
	started := f.d.logs.find("plan started", t0, "target", target)
	run := fanoutRun{Total: writes[len(writes)-1].At.Sub(t0), Plans: lastPlan.Sub(started[0].Time),
		PeakInFlight: peakInFlight(f.d, target, t0), CommentWrites: len(writes)}
	if s := f.d.logs.find("trueup started", time.Time{}); len(s) > 0 {
		w, _ := s[len(s)-1].Attrs["workers"].(float64) // the running daemon's, after a restart
		run.Workers = int(w)
	}
	f.e.logf("  %s: %d plans, comment %s after the webhook (plans %s), at most %d in flight, %d comment writes",
		label, f.stacks, run.Total.Round(time.Millisecond), run.Plans.Round(time.Millisecond), run.PeakInFlight, run.CommentWrites)
	return run, nil
}

// waitQuiet waits until the daemon is idle and has not called the GitHub stand-in for quiet.
func (f *fanoutBench) waitQuiet(ctx context.Context, quiet time.Duration) error {
	if err := waitIdle(ctx, f.d, quiet, 5*time.Minute); err != nil {
		return err
	}
	return waitFor(ctx, "the daemon's GitHub calls to end", 5*time.Minute, 100*time.Millisecond, func() (bool, error) {
		return time.Since(f.stub.lastRequest()) >= quiet, nil
	})
}

// waitPlans waits until every stack was planned for target after since, and returns when the last
// plan finished. A failed plan is an error.
func (f *fanoutBench) waitPlans(ctx context.Context, target string, since time.Time) (time.Time, error) {
	var last time.Time
	lastReport := time.Now()
	err := waitFor(ctx, fmt.Sprintf("the %d plans of %s", f.stacks, target), 10*time.Minute, 100*time.Millisecond, func() (bool, error) {
		if failed := f.d.logs.find("plan failed", since, "target", target); len(failed) > 0 {
			return false, fmt.Errorf("plan of %s on %s failed: %s", failed[0].str("stack"), target, failed[0].str("err"))
		}
		found := f.d.logs.find("plan finished", since, "target", target)
		if time.Since(lastReport) > 20*time.Second {
			f.e.logf("  %d/%d plans of %s finished", len(found), f.stacks, target)
			lastReport = time.Now()
		}
		if len(found) < f.stacks {
			return false, nil
		}
		last = found[len(found)-1].Time
		return true, nil
	})
	return last, err
}
