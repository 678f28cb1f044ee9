package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// The runner executors the runner scenarios compare (trueup.yaml's runner.executor).
const (
	executorLocal   = "local"
	executorProcess = "process"
)

// Runner is the cost of running Terraform in `trueup runner` processes (runner.executor: process)
// instead of inside the daemon (local): per run (runner_dispatch) and for a fan-out (runner_fanout).
type Runner struct {
	// DispatchPlans is the drift checks timed with each executor.
	DispatchPlans int `json:"dispatch_plans"`
	// DispatchLocalMS and DispatchProcessMS are the median drift check of one stack, from the API
	// call to the run recorded finished.
	DispatchLocalMS   float64 `json:"dispatch_local_ms"`
	DispatchProcessMS float64 `json:"dispatch_process_ms"`
	// DispatchOverheadMS is DispatchProcessMS − DispatchLocalMS: what a run costs more in a runner.
	DispatchOverheadMS float64 `json:"dispatch_overhead_ms"`

	// FanoutStacks is the stacks a pull request's module change plans.
	FanoutStacks int `json:"fanout_stacks"`
	// FanoutLocalWorkers is the daemon's default workers (local); FanoutProcessWorkers and
	// MaxParallel are the process daemon's workers and runner.max_parallel.
	FanoutLocalWorkers   int `json:"fanout_local_workers"`
	FanoutProcessWorkers int `json:"fanout_process_workers"`
	MaxParallel          int `json:"max_parallel"`
	// FanoutLocalS and FanoutProcessS are the webhook to the pull request's finished comment.
	FanoutLocalS   float64 `json:"fanout_local_s"`
	FanoutProcessS float64 `json:"fanout_process_s"`
	// FanoutRatio is FanoutProcessS ÷ FanoutLocalS.
	FanoutRatio float64 `json:"fanout_ratio"`
}

// runnerYAML is the runner: section of trueup.yaml for executor.
func runnerYAML(executor string, maxParallel int) string {
	s := fmt.Sprintf("runner:\n  executor: %s\n", executor)
	if maxParallel > 0 {
		s += fmt.Sprintf("  max_parallel: %d\n", maxParallel)
	}
	return s
}

// peakInFlight is the most runs of target in flight at once after since, from the daemon's
// "plan started" and "plan finished" (or "plan failed") lines.
func peakInFlight(d *daemon, target string, since time.Time) int {
	type edge struct {
		at    time.Time
		delta int
	}
	var edges []edge
	for _, l := range d.logs.find("plan started", since, "target", target) {
		edges = append(edges, edge{l.Time, +1})
	}
	for _, msg := range []string{"plan finished", "plan failed"} {
		for _, l := range d.logs.find(msg, since, "target", target) {
			edges = append(edges, edge{l.Time, -1})
		}
	}
	// An end at the same instant as a start is counted first.
	slices.SortFunc(edges, func(a, b edge) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return a.delta - b.delta
	})
	peak, n := 0, 0
	for _, e := range edges {
		n += e.delta
		peak = max(peak, n)
	}
	return peak
}

// runnerTerraformTime sums the Terraform calls for stack that runners reported after since: a
// runner's log lines reach the daemon's log as debug "runner" lines whose line is the runner's
// own text log line ("... msg=terraform ... op=init duration=412ms").
func runnerTerraformTime(d *daemon, stack string, since time.Time) (time.Duration, map[string]time.Duration) {
	var total time.Duration
	byOp := map[string]time.Duration{}
	for _, l := range d.logs.find("runner", since, "stack", stack) {
		kv := logfmt(l.str("line"))
		if kv["msg"] != "terraform" {
			continue
		}
		dur, err := time.ParseDuration(kv["duration"])
		if err != nil {
			continue
		}
		total += dur
		byOp[kv["op"]] += dur
	}
	return total, byOp
}

// logfmt reads the unquoted key=value pairs of a slog text line; quoted values are skipped.
func logfmt(line string) map[string]string {
	out := map[string]string{}
	for _, f := range strings.Fields(line) {
		if k, v, ok := strings.Cut(f, "="); ok && !strings.HasPrefix(v, `"`) {
			out[k] = v
		}
	}
	return out
}
