package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/trueup/trueup/reconciler"
)

// waitApplied waits until every stack's last run is an apply of rev that finished, and returns the
// stacks whose apply failed. It prints progress while it waits.
func (e *env) waitApplied(ctx context.Context, d *daemon, stacks []string, rev string, timeout time.Duration) ([]string, error) {
	var failed []string
	lastReport := time.Now()
	err := waitFor(ctx, fmt.Sprintf("%d stacks applied at %.7s", len(stacks), rev), timeout, d.listEvery(250*time.Millisecond), func() (bool, error) {
		all, err := d.stacks(ctx)
		if err != nil {
			return false, err
		}
		done := 0
		failed = failed[:0]
		for _, name := range stacks {
			lr := all[name].LastRun
			if lr == nil || lr.Kind != reconciler.RunApply || string(lr.Revision) != rev || lr.Finished.IsZero() {
				continue
			}
			done++
			if lr.Result == reconciler.ResultFailed {
				failed = append(failed, name)
			}
		}
		if time.Since(lastReport) > 20*time.Second {
			e.logf("  %d/%d stacks applied", done, len(stacks))
			lastReport = time.Now()
		}
		return done == len(stacks), nil
	})
	return failed, err
}

// waitIdle waits until no stack is pending or running and the daemon has logged nothing for quiet.
func waitIdle(ctx context.Context, d *daemon, quiet, timeout time.Duration) error {
	return waitFor(ctx, "the daemon to be idle", timeout, d.listEvery(100*time.Millisecond), func() (bool, error) {
		all, err := d.stacks(ctx)
		if err != nil {
			return false, err
		}
		for _, s := range all {
			if s.Pending || s.Running {
				return false, nil
			}
		}
		return time.Since(d.logs.last()) >= quiet, nil
	})
}

// listEvery is how often the bench lists every stack of d while it waits: def, or d.listPace when
// set. The list costs the daemon in proportion to its stacks.
func (d *daemon) listEvery(def time.Duration) time.Duration {
	return max(def, d.listPace)
}

// stacksStarted returns the distinct stacks that logged "apply started" after since, sorted.
func stacksStarted(d *daemon, since time.Time) []string {
	var out []string
	for _, e := range d.logs.find("apply started", since) {
		if s := e.str("stack"); !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

func names(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = stackName(i)
	}
	return out
}
