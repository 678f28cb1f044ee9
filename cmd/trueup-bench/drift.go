package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"
)

// benchDriftSweep times a drift sweep of 40 in-sync stacks through trueup (2 workers), triggered
// through the API, against bare Terraform planning the same initialised directories two at a time.
// The two alternate, reps times each, with the daemon idle during the baseline.
func benchDriftSweep(ctx context.Context, e *env, reps int, res *Results) error {
	const stacks, workers = 40, 2
	dir, err := e.dir("drift")
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
	d, err := e.startDaemon(ctx, "drift/daemon", daemonConfig{RepoURL: repo.URL(), Workers: workers, PollInterval: time.Hour})
	if err != nil {
		return err
	}
	defer d.stop()
	all := names(stacks)
	t0 := time.Now()
	failed, err := e.waitApplied(ctx, d, all, head, 10*time.Minute)
	if err != nil {
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("initial apply failed for %v", failed)
	}
	e.logf("  %d stacks applied in %s", stacks, time.Since(t0).Round(100*time.Millisecond))
	base := baseline{e: e, dataDir: d.dataDir, stacks: all, workers: workers, planDir: filepath.Join(dir, "baseline-plans")}

	var ts, bs, ratios []float64
	for i := range reps {
		if err := waitIdle(ctx, d, time.Second, time.Minute); err != nil {
			return err
		}
		t, err := trueupSweep(ctx, d, all)
		if err != nil {
			return err
		}
		b, err := base.sweep(ctx)
		if err != nil {
			return err
		}
		ts, bs, ratios = append(ts, t.Seconds()), append(bs, b.Seconds()), append(ratios, t.Seconds()/b.Seconds())
		e.logf("  sweep %d: trueup %.2fs, terraform %.2fs, ratio %.3f", i+1, t.Seconds(), b.Seconds(), t.Seconds()/b.Seconds())
	}
	tm, bm := median(ts), median(bs)
	res.DriftSweep = DriftSweep{Stacks: stacks, Workers: workers, TrueupS: round(tm, 3), BaselineS: round(bm, 3), Ratio: round(tm/bm, 3)}
	res.note("drift_sweep", map[string]any{
		"trueup_s_samples": roundAll(ts, 3), "baseline_s_samples": roundAll(bs, 3), "ratio_samples": roundAll(ratios, 3),
		"how": "trueup: POST /api/v1/stacks/{stack}/reconcile for all 40, until GET /api/v1/stacks shows every last_run " +
			"of kind drift finished after the first POST (its finished time); baseline: terraform plan -out, then show -json " +
			"when exit code 2, two at a time, in trueup's own workdirs and TF_DATA_DIRs, with the daemon idle",
	})
	return nil
}

// trueupSweep asks for a drift check of every stack and returns the time until the last is recorded.
func trueupSweep(ctx context.Context, d *daemon, stacks []string) (time.Duration, error) {
	t0 := time.Now()
	for _, s := range stacks {
		if err := d.reconcile(ctx, s); err != nil {
			return 0, err
		}
	}
	var last time.Time
	err := waitFor(ctx, "the drift sweep", 10*time.Minute, 50*time.Millisecond, func() (bool, error) {
		all, err := d.stacks(ctx)
		if err != nil {
			return false, err
		}
		last = time.Time{}
		for _, name := range stacks {
			lr := all[name].LastRun
			if lr == nil || lr.Kind != "drift" || !lr.Finished.After(t0) {
				return false, nil
			}
			if lr.Result != "succeeded" {
				return false, fmt.Errorf("drift check of %s: %s %s", name, lr.Result, lr.Error)
			}
			if lr.Finished.After(last) {
				last = lr.Finished
			}
		}
		return true, nil
	})
	return last.Sub(t0), err
}

func roundAll(xs []float64, decimals int) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = round(x, decimals)
	}
	return out
}
