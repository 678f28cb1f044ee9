// Command trueup-bench measures the trueup daemon from outside: it builds synthetic infrastructure
// repositories of local_file stacks with shared modules, runs the real daemon binary (bin/trueup)
// against them with the real Terraform from `make tools`, and drives it the way GitHub and an
// operator would (signed webhooks, the HTTP API, a stub GitHub API). It prints a table and writes
// .bench/results.json, whose keys are a contract (see docs/BENCHMARKS.md).
//
// It is run by `make bench` and is not part of `make test`: it takes minutes and its numbers
// depend on the machine.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/trueup/trueup/reconciler/terraform/tftest"
)

// scenarioNames are the scenarios in the order they run.
// Scenarios that share a repository and a daemon run as one: parallel_init's 40 applied stacks are
// drift_sweep's, and merge_apply's daemon goes on to module_fanout, pr_comment and memory.
var scenarioNames = []string{"init_drift", "merge_memory", "git_poll", "sandbox", "scale", "failover", "runner_dispatch", "runner_fanout"}

// scenarioResults are the contract objects each scenario fills.
var scenarioResults = map[string][]string{
	"init_drift":   {"parallel_init", "drift_sweep"},
	"merge_memory": {"merge_apply", "module_fanout", "pr_comment", "memory", "merge_during_drift"},
	"git_poll":     {"git_poll"},
	"sandbox":      {"sandbox"},
	"scale":        {"scale", "scale_daemon"},
	"failover":     {"failover", "pgstore"},
	// Both fill the runner object of .bench/results.json.
	"runner_dispatch": {"runner_dispatch"},
	"runner_fanout":   {"runner_fanout"},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "trueup-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("trueup-bench", flag.ContinueOnError)
	only := fs.String("only", "", "comma-separated scenarios to run (default all): "+strings.Join(scenarioNames, ", "))
	reps := fs.Int("reps", 5, "repetitions of the timed scenarios (the median is reported)")
	keep := fs.Bool("keep", false, "keep the scratch directory (repositories, data dirs, daemon logs)")
	out := fs.String("out", ".bench/results.json", "where to write the results, relative to the module root")
	runnerWorkers := fs.Int("runner-workers", 0, fmt.Sprintf("the process daemon's workers in runner_fanout (default max_parallel+1 = %d)", runnerMaxParallel+1))
	if err := fs.Parse(args); err != nil {
		return err
	}
	root, err := tftest.RepoRoot()
	if err != nil {
		return fmt.Errorf("%w: run from the trueup checkout", err)
	}
	env, err := newEnv(root, *keep)
	if err != nil {
		return err
	}
	defer env.cleanup()

	selected := scenarioNames
	if *only != "" {
		selected = strings.Split(*only, ",")
		for _, s := range selected {
			if !slices.Contains(scenarioNames, s) {
				return fmt.Errorf("unknown scenario %q (have %s)", s, strings.Join(scenarioNames, ", "))
			}
		}
	}
	res := newResults(env.machine)
	start := time.Now()
	env.logf("scratch directory %s", env.scratch)
	for _, name := range selected {
		if ctx.Err() != nil {
			break
		}
		t0 := time.Now()
		env.logf("== %s", name)
		for _, r := range scenarioResults[name] {
			res.ran[r] = true
		}
		var err error
		switch name {
		case "init_drift":
			err = benchInitDrift(ctx, env, *reps, res)
		case "merge_memory":
			err = benchMerge(ctx, env, *reps, res)
		case "git_poll":
			err = benchGitPoll(ctx, env, *reps, res)
		case "sandbox":
			err = benchSandbox(ctx, env, *reps, res)
		case "scale":
			err = benchScale(ctx, env, *reps, res)
		case "failover":
			err = benchFailover(ctx, env, *reps, res)
		case "runner_dispatch":
			err = benchRunnerDispatch(ctx, env, *reps, res)
		case "runner_fanout":
			err = benchRunnerFanout(ctx, env, *runnerWorkers, res)
		}
		if err != nil {
			res.fail(name, err)
			env.logf("%s failed: %v", name, err)
		}
		env.logf("== %s done in %s", name, time.Since(t0).Round(time.Second))
	}
	res.Details.TotalSeconds = time.Since(start).Seconds()
	path := filepath.Join(root, *out)
	if err := res.write(path); err != nil {
		return err
	}
	fmt.Println()
	res.printTable(os.Stdout)
	fmt.Printf("\nresults written to %s (total %s)\n", path, time.Since(start).Round(time.Second))
	if ctx.Err() != nil {
		return errors.New("interrupted")
	}
	return nil
}
