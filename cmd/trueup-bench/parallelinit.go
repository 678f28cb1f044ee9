package main

import (
	"context"
	"path/filepath"
	"time"
)

// benchParallelInit starts the daemon with 40 workers on 40 fresh stacks, so 40 terraform inits
// start together against the shared plugin cache, and counts the failed runs.
func benchParallelInit(ctx context.Context, e *env, res *Results) error {
	const stacks = 40
	dir, err := e.dir("parallel-init")
	if err != nil {
		return err
	}
	repo, err := newGitRepo(dir)
	if err != nil {
		return err
	}
	in := infra{Stacks: stacks, Resources: 4, OutDir: filepath.Join(dir, "out")}
	head, err := repo.commitAndPush("initial infrastructure", in.Files())
	if err != nil {
		return err
	}
	d, err := e.startDaemon(ctx, "parallel-init/daemon", daemonConfig{RepoURL: repo.URL(), Workers: stacks, PollInterval: time.Hour})
	if err != nil {
		return err
	}
	defer d.stop()
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
