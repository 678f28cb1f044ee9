package main

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// memory grows the merge scenario's repository to 200 stacks with 50 open pull requests (each
// changing one stack), lets the daemon apply every new stack and plan every pull request, and reads
// its resident memory from /proc/<pid>/status (the daemon process only, not Terraform).
func (m *mergeBench) memory(ctx context.Context, res *Results) error {
	const stacks, prs = 200, 50
	grown := m.in
	grown.Stacks = stacks
	files := map[string]string{}
	var added []string
	for i := m.in.Stacks; i < stacks; i++ {
		grown.addStack(files, i)
		added = append(added, stackName(i))
	}
	if _, err := m.repo.commit(fmt.Sprintf("stacks %d to %d", m.in.Stacks, stacks-1), files); err != nil {
		return err
	}
	m.in = grown
	// Pull requests 1..opened are open already; the others change stacks spread over the 200.
	opened := len(m.stub.openPulls())
	for n := opened + 1; n <= prs; n++ {
		idx := (n * 4) % stacks
		for slices.Contains(m.stub.pullStacks(), idx) {
			idx = (idx + 1) % stacks
		}
		branch := fmt.Sprintf("change-s%03d", idx)
		rev, err := m.repo.pullRequest(n, branch, map[string]string{stackName(idx) + "/main.tf": grown.Stack(idx, "pr")})
		if err != nil {
			return err
		}
		m.stub.addPull(stubPull{Number: n, Branch: branch, Head: rev, Stack: idx})
	}
	t0, err := m.pushCommitted(ctx)
	if err != nil {
		return err
	}
	failed, err := m.e.waitApplied(ctx, m.d, added, m.head, 15*time.Minute)
	if err != nil {
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("apply failed for %v", failed)
	}
	want := prs - opened
	err = waitFor(ctx, fmt.Sprintf("%d pull requests planned", want), 10*time.Minute, 250*time.Millisecond, func() (bool, error) {
		return m.d.logs.count("plan finished", t0)+m.d.logs.count("plan failed", t0) >= want, nil
	})
	if err != nil {
		return err
	}
	if err := waitIdle(ctx, m.d, 2*time.Second, 5*time.Minute); err != nil {
		return err
	}
	setup := time.Since(t0)
	afterSync, _, err := m.d.memory()
	if err != nil {
		return err
	}
	// Then a drift sweep of all 200 stacks, as the daemon does on its schedule.
	sweep, err := trueupSweep(ctx, m.d, names(stacks))
	if err != nil {
		return fmt.Errorf("drift sweep: %w", err)
	}
	if err := waitIdle(ctx, m.d, 2*time.Second, 5*time.Minute); err != nil {
		return err
	}
	rss, peak, err := m.d.memory()
	if err != nil {
		return err
	}
	all, err := m.d.stacks(ctx)
	if err != nil {
		return err
	}
	res.Memory = Memory{Stacks: len(all), PRs: len(m.stub.openPulls()), RSSMB: round(rss, 1)}
	res.note("memory", map[string]any{
		"peak_rss_mb": round(peak, 1), "workers": 2, "plan_failures": m.d.logs.count("plan failed", t0),
		"grow_s": round(setup.Seconds(), 1), "rss_mb_before_drift_sweep": round(afterSync, 1),
		"drift_sweep_s": round(sweep.Seconds(), 1),
		"how": "the merge scenario's daemon, after main grew to 200 stacks and 50 pull requests were open, every " +
			"stack was applied and every pull request planned and commented, and then a drift check of all 200 " +
			"stacks: VmRSS of the daemon process once idle (VmHWM is the peak)",
	})
	m.e.logf("  %d stacks and %d open pull requests (%s to apply and plan them, %s to drift-check them): RSS %.1f MB (%.1f MB before the sweep, peak %.1f MB)",
		len(all), len(m.stub.openPulls()), setup.Round(time.Second), sweep.Round(time.Second), rss, afterSync, peak)
	return nil
}
