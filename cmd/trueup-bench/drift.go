package main

import (
	"context"
	"fmt"
	"time"

	"github.com/trueup/trueup/reconciler"
)

// driftSweep times a drift sweep of the daemon's in-sync stacks through trueup, triggered through
// the API, against bare Terraform planning the same initialised directories workers at a time. The
// two alternate, reps times each, with the daemon idle during the baseline.
func driftSweep(ctx context.Context, e *env, d *daemon, all []string, workers, reps int, planDir string, res *Results) error {
	base := baseline{e: e, dataDir: d.dataDir, stacks: all, workers: workers, planDir: planDir}
	var ts, bs, ratios, owns, shares []float64
	for i := range reps {
		if err := waitIdle(ctx, d, time.Second, time.Minute); err != nil {
			return err
		}
		t0 := time.Now()
		t, err := trueupSweep(ctx, d, all)
		if err != nil {
			return err
		}
		// Terraform's share of the sweep, from the daemon's own timing of each command: what is
		// left of the wall time is trueup's, free of the noise between the two sweeps.
		var tf time.Duration
		for _, l := range d.logs.find("terraform", t0) {
			tf += l.duration("duration")
		}
		own := t.Seconds() - tf.Seconds()/float64(workers)
		owns, shares = append(owns, own), append(shares, own/t.Seconds())
		b, err := base.sweep(ctx)
		if err != nil {
			return err
		}
		ts, bs, ratios = append(ts, t.Seconds()), append(bs, b.Seconds()), append(ratios, t.Seconds()/b.Seconds())
		e.logf("  sweep %d: trueup %.2fs (its own share %.1f%%), terraform %.2fs, ratio %.3f", i+1, t.Seconds(), 100*own/t.Seconds(), b.Seconds(), t.Seconds()/b.Seconds())
	}
	tm, bm := median(ts), median(bs)
	res.DriftSweep = DriftSweep{Stacks: len(all), Workers: workers, TrueupS: round(tm, 3), BaselineS: round(bm, 3), Ratio: round(tm/bm, 3)}
	res.note("drift_sweep", map[string]any{
		"trueup_own_s_samples": roundAll(owns, 3), "trueup_own_share_samples": roundAll(shares, 4),
		"trueup_s_samples": roundAll(ts, 3), "baseline_s_samples": roundAll(bs, 3), "ratio_samples": roundAll(ratios, 3),
		"how": "trueup: POST /api/v1/stacks/{stack}/reconcile for all 40, until GET /api/v1/stacks shows every last_run " +
			"of kind drift finished after the first POST (its finished time), daemon restarted with 2 workers after " +
			"parallel_init applied the stacks; baseline: terraform plan -out, then show -json " +
			"when exit code 2, two at a time, in trueup's own workdirs and TF_DATA_DIRs, with the daemon idle; " +
			"trueup_own_s = the sweep's wall time minus the daemon's logged Terraform time divided by the workers",
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
	// The end is read from the runs' own finished times, so a slow poll costs no accuracy, and it
	// keeps the bench's requests from taking CPU from the Terraform processes being timed.
	err := waitFor(ctx, "the drift sweep", 10*time.Minute, time.Second, func() (bool, error) {
		all, err := d.stacks(ctx)
		if err != nil {
			return false, err
		}
		last = time.Time{}
		for _, name := range stacks {
			lr := all[name].LastRun
			if lr == nil || lr.Kind != reconciler.RunDrift || !lr.Finished.After(t0) {
				return false, nil
			}
			if lr.Result != reconciler.ResultSucceeded {
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
