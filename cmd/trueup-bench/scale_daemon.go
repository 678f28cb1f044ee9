package main

import (
	"context"
	"fmt"
	"time"
)

// The 2,000-stack daemon of issue 12.
const (
	scaleStacks = 2000
	scalePRs    = 200
)

// benchScaleDaemon runs the real daemon (default workers) on a repository of 2,000 stacks with 200
// open pull requests, each changing one stack: it applies every stack and plans and comments every
// pull request, then runs a drift check of all 2,000 stacks and reads the daemon's RSS
// (scale.rss_mb); then it merges a change to one stack reps times and times each apply beyond
// Terraform (scale.merge_overhead_ms). The stacks hold no resources (a call of a module without
// any), so Terraform's time is small and trueup's own work is most of what runs.
func benchScaleDaemon(ctx context.Context, e *env, reps int, res *Results) error {
	dir, err := e.dir("scale")
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
	in := scaleInfra{Stacks: scaleStacks}
	for i := range max(reps, 1) {
		in.Merge = append(in.Merge, 1000+10*i)
	}
	t0 := time.Now()
	head, err := repo.commitAndPush("2,000 stacks", in.Files())
	if err != nil {
		return err
	}
	if err := openScalePulls(repo, stub, in); err != nil {
		return err
	}
	e.logf("  repository of %d stacks and %d pull requests made in %s", in.Stacks, scalePRs, time.Since(t0).Round(100*time.Millisecond))
	d, err := e.startDaemon(ctx, "scale/daemon", daemonConfig{RepoURL: repo.URL(), PollInterval: time.Hour, GitHubAPI: stub.url})
	if err != nil {
		return err
	}
	defer d.stop()
	d.listPace = 2 * time.Second
	m := &mergeBench{e: e, d: d, repo: repo, stub: stub, head: head}
	notes, err := m.scaleMemory(ctx, in, res)
	if err != nil {
		return err
	}
	overheads, samples, maxPlanned, err := m.timeMerges(ctx, reps, func(i int) (string, map[string]string) {
		idx := in.Merge[i]
		return stackName(idx), map[string]string{stackName(idx) + "/main.tf": in.Stack(idx, fmt.Sprintf("v%d", i+2))}
	})
	if err != nil {
		return fmt.Errorf("merges: %w", err)
	}
	if maxPlanned != 1 {
		return fmt.Errorf("a merge changing one stack of %d ran %d", in.Stacks, maxPlanned)
	}
	res.Scale.MergeOverheadMS = round(median(overheads), 1)
	notes["merge_samples"] = samples
	res.note("scale_daemon", notes)
	e.logf("  merges into %d stacks: overhead beyond Terraform %.0f ms (median of %d)", in.Stacks, res.Scale.MergeOverheadMS, len(overheads))
	return nil
}

// openScalePulls opens pull requests 1..scalePRs, number n changing stack 10n-5 (never a merge stack).
func openScalePulls(repo *gitRepo, stub *ghStub, in scaleInfra) error {
	var changes []prChange
	for n := 1; n <= scalePRs; n++ {
		idx := 10*n - 5
		changes = append(changes, prChange{Number: n, Branch: fmt.Sprintf("change-s%03d", idx),
			Files: map[string]string{stackName(idx) + "/main.tf": in.PullChange(idx)}})
	}
	heads, err := repo.pullRequests(changes)
	if err != nil {
		return err
	}
	for i, c := range changes {
		stub.addPull(stubPull{Number: c.Number, Branch: c.Branch, Head: heads[c.Number], Stack: 10*(i+1) - 5})
	}
	return nil
}

// scaleMemory waits until the freshly started daemon applied every stack and planned and commented
// every pull request, runs a drift check of every stack, and reads the daemon's RSS once idle.
func (m *mergeBench) scaleMemory(ctx context.Context, in scaleInfra, res *Results) (map[string]any, error) {
	t0 := time.Now()
	failed, err := m.e.waitApplied(ctx, m.d, names(in.Stacks), m.head, 10*time.Minute)
	if err != nil {
		return nil, err
	}
	if len(failed) > 0 {
		return nil, fmt.Errorf("apply failed for %d stacks, first %s", len(failed), failed[0])
	}
	applied := time.Since(t0)
	if err := waitCommented(ctx, m.d, m.stub, t0, 10*time.Minute); err != nil {
		return nil, err
	}
	if err := waitIdle(ctx, m.d, 2*time.Second, 5*time.Minute); err != nil {
		return nil, err
	}
	setup := time.Since(t0)
	afterSync, _, err := m.d.memory()
	if err != nil {
		return nil, err
	}
	m.e.logf("  %d stacks applied in %s, %d pull requests planned and commented after %s: RSS %.1f MB",
		in.Stacks, applied.Round(time.Second), scalePRs, setup.Round(time.Second), afterSync)
	sweep, err := trueupSweep(ctx, m.d, names(in.Stacks))
	if err != nil {
		return nil, fmt.Errorf("drift sweep: %w", err)
	}
	if err := waitIdle(ctx, m.d, 2*time.Second, 5*time.Minute); err != nil {
		return nil, err
	}
	rss, peak, err := m.d.memory()
	if err != nil {
		return nil, err
	}
	res.Scale.RSSMB, res.Scale.PRs = round(rss, 1), len(m.stub.openPulls())
	m.e.logf("  drift check of %d stacks in %s: RSS %.1f MB (peak %.1f MB)", in.Stacks, sweep.Round(time.Second), rss, peak)
	return map[string]any{
		"stacks": in.Stacks, "prs": scalePRs, "apply_all_s": round(applied.Seconds(), 1), "setup_s": round(setup.Seconds(), 1),
		"rss_mb_before_drift_sweep": round(afterSync, 1), "drift_sweep_s": round(sweep.Seconds(), 1), "peak_rss_mb": round(peak, 1),
		"how": "bin/trueup with its default workers on 2,000 stacks without resources (each calls a module without " +
			"any; the merged stacks hold one terraform_data) and 200 open pull requests, each adding a terraform_data " +
			"to one stack: after every stack was applied, every pull request planned and commented, and a drift " +
			"check of all 2,000 stacks, VmRSS of the daemon once idle; then merges of one stack each, timed as " +
			"merge_apply is",
	}, nil
}

// waitCommented waits until every open pull request on stub was planned (after since) and its
// comment was written after its plan finished.
func waitCommented(ctx context.Context, d *daemon, stub *ghStub, since time.Time, timeout time.Duration) error {
	return waitFor(ctx, "every pull request planned and commented", timeout, time.Second, func() (bool, error) {
		for _, p := range stub.openPulls() {
			target := fmt.Sprintf("pr:%d", p.Number)
			if failed := d.logs.find("plan failed", since, "target", target); len(failed) > 0 {
				return false, fmt.Errorf("plan of %s failed: %s", target, failed[0].str("err"))
			}
			planned := d.logs.find("plan finished", since, "target", target)
			if len(planned) == 0 || len(stub.commentWrites(p.Number, planned[0].Time)) == 0 {
				return false, nil
			}
		}
		return true, nil
	})
}
