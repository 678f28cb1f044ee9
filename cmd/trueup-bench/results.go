package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"
	"time"
)

// Results is .bench/results.json. The scenario objects and their keys are a contract (issue 7):
// tools read them, so keys are never renamed. Details and Machine are extra, for people.
type Results struct {
	DriftSweep   DriftSweep   `json:"drift_sweep"`
	MergeApply   MergeApply   `json:"merge_apply"`
	ModuleFanout ModuleFanout `json:"module_fanout"`
	PRComment    PRComment    `json:"pr_comment"`
	Memory       Memory       `json:"memory"`
	GitPoll      GitPoll      `json:"git_poll"`
	ParallelInit ParallelInit `json:"parallel_init"`
	Sandbox      Sandbox      `json:"sandbox"`
	Scale        Scale        `json:"scale"`
	// MergeDuringDrift is issue 12's merge_during_drift.
	MergeDuringDrift MergeDuringDrift `json:"merge_during_drift"`
	// Failover and PGStore are issue 13's: two replicas on PostgreSQL.
	Failover Failover `json:"failover"`
	PGStore  PGStore  `json:"pgstore"`
	// Runner is the runner executors': runner_dispatch and runner_fanout.
	Runner Runner `json:"runner"`

	Machine Machine `json:"machine"`
	Details Details `json:"details"`

	ran      map[string]bool // results whose scenario ran (the others print as not run)
	measured map[string]bool // results measured (a scenario may fail after some)
}

// DriftSweep is one drift sweep through trueup against bare Terraform planning the same directories.
type DriftSweep struct {
	Stacks    int     `json:"stacks"`
	Workers   int     `json:"workers"`
	TrueupS   float64 `json:"trueup_s"`
	BaselineS float64 `json:"baseline_s"`
	Ratio     float64 `json:"ratio"`
}

// MergeApply is a push to main changing one stack of many.
type MergeApply struct {
	StacksTotal   int     `json:"stacks_total"`
	StacksPlanned int     `json:"stacks_planned"`
	OverheadMS    float64 `json:"overhead_ms"`
}

// ModuleFanout is a push changing a module that some stacks call.
type ModuleFanout struct {
	StacksTotal int `json:"stacks_total"`
	Expected    int `json:"expected"`
	Planned     int `json:"planned"`
	// Ratio is a pull request's module change: webhook to finished comment ÷ bare Terraform running
	// the same plans in initialised workdirs with the same parallelism.
	Ratio     float64 `json:"ratio"`
	PRTotalMS float64 `json:"pr_total_ms"`
	FloorMS   float64 `json:"floor_ms"`
}

// PRComment is a pull request opened until its plan comment is posted.
type PRComment struct {
	OverheadMS float64 `json:"overhead_ms"`
	// Ratio is webhook to finished comment ÷ bare plan -out (+ show -json) in an initialised workdir.
	Ratio   float64 `json:"ratio"`
	FloorMS float64 `json:"floor_ms"`
}

// Memory is the daemon's resident memory after a sweep.
type Memory struct {
	Stacks int     `json:"stacks"`
	PRs    int     `json:"prs"`
	RSSMB  float64 `json:"rss_mb"`
}

// GitPoll is polling a large repository.
type GitPoll struct {
	Commits          int     `json:"commits"`
	Files            int     `json:"files"`
	NoopPollMS       float64 `json:"noop_poll_ms"`
	OneCommitFetchMS float64 `json:"one_commit_fetch_ms"`
}

// ParallelInit is many fresh stacks initialising at once against the shared provider cache.
type ParallelInit struct {
	Stacks   int `json:"stacks"`
	Failures int `json:"failures"`
}

// Details are the samples and side measurements behind the contract numbers.
type Details struct {
	GeneratedAt  time.Time         `json:"generated_at"`
	TotalSeconds float64           `json:"total_seconds"`
	Errors       map[string]string `json:"errors,omitempty"`
	Notes        map[string]any    `json:"notes,omitempty"`
}

func newResults(m Machine) *Results {
	return &Results{
		DriftSweep:   DriftSweep{Stacks: 40, Workers: 2},
		MergeApply:   MergeApply{StacksTotal: 100},
		ModuleFanout: ModuleFanout{StacksTotal: 100, Expected: 7},
		Memory:       Memory{Stacks: 200, PRs: 50},
		GitPoll:      GitPoll{Commits: 5000, Files: 2000},
		ParallelInit: ParallelInit{Stacks: 40},
		Machine:      m,
		Details:      Details{GeneratedAt: time.Now().UTC(), Errors: map[string]string{}, Notes: map[string]any{}},
		ran:          map[string]bool{},
		measured:     map[string]bool{},
	}
}

func (r *Results) fail(scenario string, err error) { r.Details.Errors[scenario] = err.Error() }

// note records the details of a result, which marks it measured.
func (r *Results) note(result string, v any) {
	r.Details.Notes[result] = v
	r.measured[result] = true
}

func (r *Results) write(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// printTable prints every contract number against its target.
func (r *Results) printTable(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tmeasure\tvalue\ttarget\tmet")
	// rowOf prints a row for the result measured by scenario (its key in .bench/results.json).
	rowOf := func(result, scenario, measure, value, target string, met bool) {
		mark := "yes"
		if !met {
			mark = "NO"
		}
		if r.failed(result) {
			value, mark = "error", "NO"
		}
		if !r.ran[result] {
			value, mark = "not run", "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", scenario, measure, value, target, mark)
	}
	row := func(scenario, measure, value, target string, met bool) {
		rowOf(scenario, scenario, measure, value, target, met)
	}
	d := r.DriftSweep
	row("drift_sweep", fmt.Sprintf("trueup / terraform (%d stacks, %d workers)", d.Stacks, d.Workers),
		fmt.Sprintf("%.2fs / %.2fs = %.3f", d.TrueupS, d.BaselineS, d.Ratio), "<= 1.05", d.Ratio > 0 && d.Ratio <= 1.05)
	m := r.MergeApply
	row("merge_apply", fmt.Sprintf("stacks planned (of %d)", m.StacksTotal), fmt.Sprint(m.StacksPlanned), "1", m.StacksPlanned == 1)
	row("merge_apply", "overhead beyond Terraform", fmt.Sprintf("%.0f ms", m.OverheadMS), "<= 300 ms", m.OverheadMS <= 300)
	f := r.ModuleFanout
	row("module_fanout", fmt.Sprintf("stacks planned (of %d)", f.StacksTotal), fmt.Sprint(f.Planned), fmt.Sprint(f.Expected), f.Planned == f.Expected)
	row("module_fanout", fmt.Sprintf("pull request comment ÷ bare plans (%.0f ms / %.0f ms)", f.PRTotalMS, f.FloorMS), fmt.Sprintf("%.2f", f.Ratio), "<= 1.3", f.Ratio > 0 && f.Ratio <= 1.3)
	row("pr_comment", "overhead beyond Terraform", fmt.Sprintf("%.0f ms", r.PRComment.OverheadMS), "<= 300 ms", r.PRComment.OverheadMS <= 300)
	row("pr_comment", fmt.Sprintf("comment ÷ bare plan (floor %.0f ms)", r.PRComment.FloorMS), fmt.Sprintf("%.2f", r.PRComment.Ratio), "<= 1.5", r.PRComment.Ratio > 0 && r.PRComment.Ratio <= 1.5)
	mem := r.Memory
	row("memory", fmt.Sprintf("daemon RSS (%d stacks, %d PRs)", mem.Stacks, mem.PRs), fmt.Sprintf("%.1f MB", mem.RSSMB), "<= 150 MB", mem.RSSMB > 0 && mem.RSSMB <= 150)
	g := r.GitPoll
	row("git_poll", fmt.Sprintf("no-op poll, median (%d commits, %d files)", g.Commits, g.Files), fmt.Sprintf("%.1f ms", g.NoopPollMS), "<= 50 ms", g.NoopPollMS > 0 && g.NoopPollMS <= 50)
	row("git_poll", "poll fetching one commit", fmt.Sprintf("%.1f ms", g.OneCommitFetchMS), "<= 200 ms", g.OneCommitFetchMS > 0 && g.OneCommitFetchMS <= 200)
	p := r.ParallelInit
	row("parallel_init", fmt.Sprintf("failed runs (%d inits at once)", p.Stacks), fmt.Sprint(p.Failures), "0", p.Failures == 0)
	md := r.MergeDuringDrift
	row("merge_during_drift", fmt.Sprintf("apply starts later during a %d-stack drift sweep (one run %.0f ms)", md.Stacks, md.RunMS), fmt.Sprintf("%.0f ms", md.DelayMS), "<= one run", md.BusyMS > 0 && md.DelayMS <= md.RunMS)
	sc := r.Scale
	row("scale", fmt.Sprintf("layout load after a move of main (%d stacks; %.0f ms cold)", sc.Stacks, sc.ColdLayoutMS), fmt.Sprintf("%.1f ms", sc.LayoutMS), "<= 100 ms", sc.LayoutMS > 0 && sc.LayoutMS <= 100)
	rowOf("scale_daemon", "scale", fmt.Sprintf("daemon RSS after a drift sweep (%d stacks, %d PRs)", scaleStacks, sc.PRs), fmt.Sprintf("%.1f MB", sc.RSSMB), "<= 250 MB", sc.RSSMB > 0 && sc.RSSMB <= 250)
	rowOf("scale_daemon", "scale", fmt.Sprintf("merge_apply overhead beyond Terraform (%d stacks)", scaleStacks), fmt.Sprintf("%.0f ms", sc.MergeOverheadMS), "<= 150 ms", sc.MergeOverheadMS > 0 && sc.MergeOverheadMS <= 150)
	fo := r.Failover
	row("failover", fmt.Sprintf("kill -9 of the leader to the standby's first run (lease TTL %.0fs)", fo.LeaseTTLS), fmt.Sprintf("%.1f s", fo.TakeoverS),
		fmt.Sprintf("<= %.0f s", fo.LeaseTTLS+5), fo.TakeoverS > 0 && fo.TakeoverS <= fo.LeaseTTLS+5)
	rowOf("pgstore", "failover", "PostgreSQL PutStack, fenced, median", fmt.Sprintf("%.2f ms", r.PGStore.PutStackMS), "reported", r.PGStore.PutStackMS > 0)
	ru := r.Runner
	rowOf("runner_dispatch", "runner", fmt.Sprintf("process − local executor per drift check (%.0f ms local)", ru.DispatchLocalMS),
		fmt.Sprintf("%+.0f ms", ru.DispatchOverheadMS), "<= 200 ms", ru.DispatchProcessMS > 0 && ru.DispatchOverheadMS <= 200)
	rowOf("runner_fanout", "runner", fmt.Sprintf("%d-stack PR fan-out, process ÷ local (%.1f s / %.1f s; %d / %d workers, max_parallel %d)",
		ru.FanoutStacks, ru.FanoutProcessS, ru.FanoutLocalS, ru.FanoutProcessWorkers, ru.FanoutLocalWorkers, ru.MaxParallel), fmt.Sprintf("%.2f", ru.FanoutRatio),
		fmt.Sprintf("<= %.1f", runnerFanoutTarget), ru.FanoutRatio > 0 && ru.FanoutRatio <= runnerFanoutTarget)
	sb := r.Sandbox
	row("sandbox", fmt.Sprintf("bubblewrap per branch plan (%.0f ms plain)", sb.PlainMS), fmt.Sprintf("%+.0f ms", sb.OverheadMS), "reported", true)
	tw.Flush()
	if len(r.Details.Errors) > 0 {
		fmt.Fprintln(w, "\nerrors:")
		for k, v := range r.Details.Errors {
			fmt.Fprintf(w, "  %s: %s\n", k, v)
		}
	}
}

// failed reports whether the scenario that measures result failed before measuring it.
func (r *Results) failed(result string) bool {
	for name, results := range scenarioResults {
		if _, failed := r.Details.Errors[name]; failed && slices.Contains(results, result) {
			return !r.measured[result]
		}
	}
	return false
}

// median returns the median of xs (0 for none).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// round rounds x to the given decimals, for readable JSON.
func round(x float64, decimals int) float64 {
	p := math.Pow(10, float64(decimals))
	return math.Round(x*p) / p
}

func ms(d time.Duration) float64 { return round(float64(d)/float64(time.Millisecond), 1) }
