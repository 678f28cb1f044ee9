package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"
)

// benchInitDrift runs parallel_init and then drift_sweep on the same 40 stacks: first the daemon
// with 40 workers applies the fresh stacks (40 inits at once against the shared plugin cache), then
// it is restarted with 2 workers on the same data directory for the drift sweeps.
func benchInitDrift(ctx context.Context, e *env, reps int, res *Results) error {
	const stacks = 40
	dir, err := e.dir("init-drift")
	if err != nil {
		return err
	}
	repo, err := newGitRepo(dir)
	if err != nil {
		return err
	}
	in := infra{Stacks: stacks, Resources: 4, OutDir: filepath.Join(dir, "out"), LockFile: e.lockFile}
	head, err := repo.commitAndPush("initial infrastructure", in.Files())
	if err != nil {
		return err
	}
	cfg := daemonConfig{RepoURL: repo.URL(), Workers: stacks, PollInterval: time.Hour}
	d, err := e.startDaemon(ctx, "init-drift/daemon", cfg)
	if err != nil {
		return err
	}
	defer d.stop()
	if err := parallelInit(ctx, e, d, stacks, head, res); err != nil {
		return fmt.Errorf("parallel_init: %w", err)
	}
	if err := d.stop(); err != nil {
		return err
	}
	cfg.Workers = 2
	if err := d.restart(ctx, e, cfg); err != nil {
		return err
	}
	if err := driftSweep(ctx, e, d, names(stacks), cfg.Workers, reps, filepath.Join(dir, "baseline-plans"), res); err != nil {
		return fmt.Errorf("drift_sweep: %w", err)
	}
	return nil
}

// parallelInit waits for the daemon's first apply of every stack and counts the failed runs.
func parallelInit(ctx context.Context, e *env, d *daemon, stacks int, head string, res *Results) error {
	t0 := time.Now()
	failedStacks, err := e.waitApplied(ctx, d, names(stacks), head, 10*time.Minute)
	if err != nil {
		return err
	}
	elapsed := time.Since(t0)
	if err := waitIdle(ctx, d, time.Second, 2*time.Minute); err != nil {
		return err
	}
	failedLines := d.logs.find("apply failed", t0)
	var errs []string
	for _, l := range failedLines {
		errs = append(errs, l.str("stack")+": "+firstLine(l.str("err")))
	}
	inits := d.logs.count("terraform", t0, "op", "init")
	res.ParallelInit = ParallelInit{Stacks: stacks, Failures: max(len(failedLines), len(failedStacks))}
	res.note("parallel_init", map[string]any{
		"inits": inits, "failed_runs": len(failedLines), "stacks_failed_at_the_end": failedStacks, "errors": errs,
		"all_applied_s": round(elapsed.Seconds(), 1),
		"how":           "workers: 40 and 40 fresh stacks; failures = \"apply failed\" log lines (a retried transient failure counts)",
	})
	e.logf("  %d stacks applied with %d workers in %s: %d inits, %d failed runs", stacks, stacks, elapsed.Round(100*time.Millisecond), inits, len(failedLines))
	return nil
}
