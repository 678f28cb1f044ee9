package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/trueup/trueup/reconciler"
)

// dispatchStack is the stack whose drift check runner_dispatch times.
var dispatchStack = stackName(0)

// benchRunnerDispatch times the same plan run by the daemon itself and by a `trueup runner`
// process: two daemons, one per executor, each following its own one-stack repository (one
// local_file of its own, one of modules/common), applied first. Then a drift check of the stack
// through the API, on each daemon in turn with the other idle, 2×reps times (at least 6) after a
// round that is not counted; runner.dispatch_overhead_ms is median(process) − median(local).
func benchRunnerDispatch(ctx context.Context, e *env, reps int, res *Results) error {
	executors := []string{executorLocal, executorProcess}
	daemons := map[string]*daemon{}
	for _, ex := range executors {
		d, err := startDispatchDaemon(ctx, e, ex)
		if d != nil {
			defer d.stop()
		}
		if err != nil {
			return fmt.Errorf("%s daemon: %w", ex, err)
		}
		daemons[ex] = d
	}
	n := max(2*reps, 6)
	samples := map[string][]dispatchSample{}
	for i := -1; i < n; i++ { // round -1 warms both up and is not counted
		for _, ex := range executors {
			s, err := timeDriftCheck(ctx, daemons[ex], ex)
			if err != nil {
				return fmt.Errorf("%s: %w", ex, err)
			}
			if i >= 0 {
				samples[ex] = append(samples[ex], s)
			}
		}
	}
	local, process := summarize(samples[executorLocal]), summarize(samples[executorProcess])
	r := &res.Runner
	r.DispatchPlans = n
	r.DispatchLocalMS, r.DispatchProcessMS = local["total_ms"], process["total_ms"]
	r.DispatchOverheadMS = round(r.DispatchProcessMS-r.DispatchLocalMS, 1)
	res.note("runner_dispatch", map[string]any{
		"local": local, "process": process,
		"local_samples": samples[executorLocal], "process_samples": samples[executorProcess],
		"how": "two daemons (default workers), one per runner.executor, each on its own one-stack repository applied " +
			"first; POST /api/v1/stacks/{stack}/reconcile (a drift check: plan, in sync) on each in turn with the other " +
			"idle; total = the run's last_run.finished minus the POST; terraform = the Terraform calls the daemon " +
			"(local) or the runner (process, its log lines forwarded to the daemon's log) logged for the run; " +
			"local and process are the medians of the samples",
	})
	e.logf("  drift check of one stack, median of %d: local %.0f ms, process %.0f ms (its runner's init %.0f ms): dispatch overhead %+.0f ms per run",
		n, r.DispatchLocalMS, r.DispatchProcessMS, process["init_ms"], r.DispatchOverheadMS)
	return nil
}

// startDispatchDaemon makes a one-stack repository for executor, starts a daemon with that
// executor on it, and waits until the stack is applied. The daemon is returned even on error, to
// be stopped.
func startDispatchDaemon(ctx context.Context, e *env, executor string) (*daemon, error) {
	name := "runner-dispatch-" + executor
	dir, err := e.dir(name)
	if err != nil {
		return nil, err
	}
	repo, err := newGitRepo(dir)
	if err != nil {
		return nil, err
	}
	in := infra{Stacks: 1, Resources: 1, OutDir: filepath.Join(dir, "out"), LockFile: e.lockFile}
	head, err := repo.commitAndPush("one stack", in.Files())
	if err != nil {
		return nil, err
	}
	d, err := e.startDaemon(ctx, name+"/daemon", daemonConfig{RepoURL: repo.URL(), PollInterval: time.Hour, Extra: runnerYAML(executor, 0)})
	if err != nil {
		return nil, err
	}
	failed, err := e.waitApplied(ctx, d, names(in.Stacks), head, 3*time.Minute)
	if err == nil && len(failed) > 0 {
		err = fmt.Errorf("initial apply failed for %v", failed)
	}
	return d, err
}

// dispatchSample is one timed drift check.
type dispatchSample struct {
	// TotalMS is the request to the run recorded finished; RunMS the run's own started to finished.
	TotalMS float64 `json:"total_ms"`
	RunMS   float64 `json:"run_ms"`
	// TerraformMS is the Terraform calls logged for the run, by the daemon or by the runner.
	TerraformMS    float64            `json:"terraform_ms"`
	TerraformOpsMS map[string]float64 `json:"terraform_ops_ms"`
}

// summarize is the medians of samples: total_ms, terraform_ms, init_ms and the rest (not_terraform_ms).
func summarize(samples []dispatchSample) map[string]float64 {
	var total, tf, init, rest []float64
	for _, s := range samples {
		total, tf = append(total, s.TotalMS), append(tf, s.TerraformMS)
		init, rest = append(init, s.TerraformOpsMS["init"]), append(rest, s.TotalMS-s.TerraformMS)
	}
	return map[string]float64{"total_ms": round(median(total), 1), "terraform_ms": round(median(tf), 1),
		"init_ms": round(median(init), 1), "not_terraform_ms": round(median(rest), 1)}
}

// timeDriftCheck asks d for a drift check of dispatchStack once d is idle, and times it from the
// request to the run recorded finished.
func timeDriftCheck(ctx context.Context, d *daemon, executor string) (dispatchSample, error) {
	if err := waitIdle(ctx, d, 500*time.Millisecond, time.Minute); err != nil {
		return dispatchSample{}, err
	}
	t0 := time.Now()
	if err := d.reconcile(ctx, dispatchStack); err != nil {
		return dispatchSample{}, err
	}
	var lr *reconciler.RunRecord
	// The end is the run's own finished time: the poll's pace costs no accuracy.
	err := waitFor(ctx, "the drift check of "+dispatchStack, 2*time.Minute, 50*time.Millisecond, func() (bool, error) {
		st, err := d.stack(ctx, dispatchStack)
		lr = st.LastRun
		return err == nil && lr != nil && lr.Kind == reconciler.RunDrift && lr.Finished.After(t0), err
	})
	if err != nil {
		return dispatchSample{}, err
	}
	if lr.Result != reconciler.ResultSucceeded {
		return dispatchSample{}, fmt.Errorf("drift check of %s: %s %s", dispatchStack, lr.Result, lr.Error)
	}
	// The runner's log lines may arrive just after its result: wait for the daemon to go quiet.
	if err := waitIdle(ctx, d, 300*time.Millisecond, time.Minute); err != nil {
		return dispatchSample{}, err
	}
	tf, byOp := d.logs.terraformTime(dispatchStack, t0)
	if executor == executorProcess {
		tf, byOp = runnerTerraformTime(d, dispatchStack, t0)
	}
	return dispatchSample{TotalMS: ms(lr.Finished.Sub(t0)), RunMS: ms(lr.Finished.Sub(lr.Started)), TerraformMS: ms(tf), TerraformOpsMS: opsMS(byOp)}, nil
}
