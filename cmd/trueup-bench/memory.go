package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"
)

// benchMemory starts the daemon on a 200-stack repository with 50 open pull requests (each changing
// one stack), lets it apply every stack and plan every pull request, then drift-checks every stack,
// and reads the daemon's resident memory from /proc/<pid>/status (the daemon only, not Terraform).
func benchMemory(ctx context.Context, e *env, res *Results) error {
	const stacks, prs, workers = 200, 50, 2
	dir, err := e.dir("memory")
	if err != nil {
		return err
	}
	repo, err := newGitRepo(dir)
	if err != nil {
		return err
	}
	stub, err := startGHStub()
	if err != nil {
		return err
	}
	defer stub.close()
	in := infra{Stacks: stacks, Resources: 4, OutDir: filepath.Join(dir, "out")}
	head, err := repo.commitAndPush("initial infrastructure", in.Files())
	if err != nil {
		return err
	}
	for n := 1; n <= prs; n++ {
		idx := (n - 1) * stacks / prs
		branch := fmt.Sprintf("change-s%03d", idx)
		rev, err := repo.pullRequest(n, branch, map[string]string{stackName(idx) + "/main.tf": in.Stack(idx, "pr")})
		if err != nil {
			return err
		}
		stub.addPull(stubPull{Number: n, Branch: branch, Head: rev})
	}
	d, err := e.startDaemon(ctx, "memory/daemon", daemonConfig{RepoURL: repo.URL(), Workers: workers, PollInterval: time.Hour, GitHubAPI: stub.url})
	if err != nil {
		return err
	}
	defer d.stop()
	t0 := time.Now()
	all := names(stacks)
	failed, err := e.waitApplied(ctx, d, all, head, 15*time.Minute)
	if err != nil {
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("initial apply failed for %v", failed)
	}
	err = waitFor(ctx, fmt.Sprintf("%d pull requests planned", prs), 10*time.Minute, 250*time.Millisecond, func() (bool, error) {
		return d.logs.count("plan finished", t0)+d.logs.count("plan failed", t0) >= prs, nil
	})
	if err != nil {
		return err
	}
	if err := waitIdle(ctx, d, time.Second, 5*time.Minute); err != nil {
		return err
	}
	afterSync, _, err := d.memory()
	if err != nil {
		return err
	}
	e.logf("  %d stacks applied and %d pull requests planned in %s; RSS %.1f MB",
		stacks, prs, time.Since(t0).Round(time.Second), afterSync)

	t1 := time.Now()
	sweep, err := trueupSweep(ctx, d, all)
	if err != nil {
		return err
	}
	if err := waitIdle(ctx, d, time.Second, time.Minute); err != nil {
		return err
	}
	rss, peak, err := d.memory()
	if err != nil {
		return err
	}
	e.logf("  drift sweep of %d stacks in %s; RSS %.1f MB, peak %.1f MB", stacks, sweep.Round(100*time.Millisecond), rss, peak)
	res.Memory = Memory{Stacks: stacks, PRs: prs, RSSMB: round(rss, 1)}
	res.note("memory", map[string]any{
		"rss_mb_after_first_sync": round(afterSync, 1), "rss_mb_after_drift_sweep": round(rss, 1), "peak_rss_mb": round(peak, 1),
		"workers": workers, "plan_failures": d.logs.count("plan failed", t0), "drift_sweep_s": round(sweep.Seconds(), 1),
		"setup_s": round(t1.Sub(t0).Seconds(), 1),
		"how": "VmRSS of the daemon process after every stack was applied, every pull request planned and " +
			"commented, and a drift check of every stack (VmHWM is the peak)",
	})
	return nil
}
