package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"
)

// fanoutWorkers is the daemon's workers for the pull request fan-out: enough that one pull
// request's seven plans can run together (a target may hold all workers but one).
const fanoutWorkers = 8

// prFanout opens a pull request that changes modules/fanout-leaf, which 7 stacks call, on a daemon
// restarted with fanoutWorkers workers, and measures the webhook to its finished comment against
// bare Terraform planning the same 7 stacks in their initialised workdirs with the same parallelism.
func (m *mergeBench) prFanout(ctx context.Context, res *Results) error {
	if err := m.d.stop(); err != nil {
		return err
	}
	if err := m.d.restart(ctx, m.e, daemonConfig{RepoURL: m.repo.URL(), Workers: fanoutWorkers, PollInterval: time.Hour, GitHubAPI: m.stub.url}); err != nil {
		return err
	}
	if err := waitIdle(ctx, m.d, 2*time.Second, 5*time.Minute); err != nil {
		return err
	}
	const n = 900
	branch := "fanout-leaf-pr"
	rev, err := m.repo.pullRequest(n, branch, map[string]string{"modules/fanout-leaf/main.tf": leafModule("pr")})
	if err != nil {
		return err
	}
	pr := stubPull{Number: n, Branch: branch, Head: rev, Stack: -1}
	m.stub.addPull(pr)
	if err := waitIdle(ctx, m.d, 500*time.Millisecond, time.Minute); err != nil {
		return err
	}
	expected := m.in.FanoutStacks()
	target := fmt.Sprintf("pr:%d", n)
	t0 := time.Now()
	if err := m.d.webhook(ctx, "pull_request", pullRequestEvent("opened", pr)); err != nil {
		return err
	}
	var lastPlan time.Time
	err = waitFor(ctx, "the 7 plans of "+target, 3*time.Minute, 20*time.Millisecond, func() (bool, error) {
		found := m.d.logs.find("plan finished", t0, "target", target)
		if len(found) < len(expected) {
			return false, nil
		}
		lastPlan = found[len(found)-1].Time
		return true, nil
	})
	if err != nil {
		return err
	}
	err = waitFor(ctx, "the final comment on "+target, time.Minute, 20*time.Millisecond, func() (bool, error) {
		return len(m.stub.commentWrites(n, lastPlan)) > 0, nil
	})
	if err != nil {
		return err
	}
	if err := waitIdle(ctx, m.d, time.Second, time.Minute); err != nil {
		return err
	}
	writes := m.stub.commentWrites(n, t0)
	total := writes[len(writes)-1].At.Sub(t0)
	floor, err := m.parallelFloor(ctx, target, expected, fanoutWorkers-1)
	if err != nil {
		return err
	}
	res.ModuleFanout.PRTotalMS, res.ModuleFanout.FloorMS = ms(total), ms(floor)
	res.ModuleFanout.Ratio = round(float64(total)/float64(floor), 3)
	res.note("module_fanout_pr", map[string]any{"stacks": expected, "workers": fanoutWorkers, "total_ms": ms(total), "floor_ms": ms(floor)})
	m.e.logf("  module change on a pull request: last comment %s after the webhook; bare Terraform %s for the same %d plans, %d at a time",
		total.Round(time.Millisecond), floor.Round(time.Millisecond), len(expected), fanoutWorkers-1)
	return nil
}

// parallelFloor is the wall time of bare Terraform planning stacks of target in their initialised
// workdirs, parallel at a time.
func (m *mergeBench) parallelFloor(ctx context.Context, target string, stacks []string, parallel int) (time.Duration, error) {
	base := baseline{e: m.e, dataDir: m.d.dataDir, planDir: filepath.Join(filepath.Dir(m.d.dataDir), "floor-plans")}
	sem := make(chan struct{}, parallel)
	errs := make(chan error, len(stacks))
	var wg sync.WaitGroup
	start := time.Now()
	for _, s := range stacks {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if _, err := base.floor(ctx, target, s); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		return 0, err
	}
	return elapsed, nil
}
