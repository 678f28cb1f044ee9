package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/terraform"
)

// Sandbox is the cost of running a branch plan under bubblewrap: the same untrusted plan of a small
// stack in an initialised workdir, with and without the sandbox.
type Sandbox struct {
	Plans       int     `json:"plans"`
	PlainMS     float64 `json:"plain_ms"`
	SandboxedMS float64 `json:"sandboxed_ms"`
	OverheadMS  float64 `json:"overhead_ms"`
}

// benchSandbox plans one stack reps×4 times each way, alternating, and reports the medians.
func benchSandbox(ctx context.Context, e *env, reps int, res *Results) error {
	sb, err := terraform.ProbeSandbox(ctx, "")
	if err != nil {
		return err
	}
	dir := filepath.Join(e.scratch, "sandbox")
	out := filepath.Join(dir, "out")
	stack := filepath.Join(dir, "checkout", "s")
	if err := os.MkdirAll(stack, 0o755); err != nil {
		return err
	}
	config := fmt.Sprintf("resource \"terraform_data\" \"a\" { input = \"v1\" }\nresource \"local_file\" \"b\" {\n  filename = %q\n  content  = \"b\"\n}\n", filepath.Join(out, "b.txt"))
	if err := os.WriteFile(filepath.Join(stack, "main.tf"), []byte(config), 0o644); err != nil {
		return err
	}
	runners := map[bool]*terraform.Runner{}
	for _, sandboxed := range []bool{false, true} {
		opts := terraform.Options{Binary: e.terraform, CLIConfigFile: e.tfrc, PluginCacheDir: filepath.Join(dir, "plugin-cache")}
		if sandboxed {
			opts.Sandbox = sb
		}
		if runners[sandboxed], err = terraform.New(opts); err != nil {
			return err
		}
	}
	spec := func(sandboxed bool) reconciler.RunSpec {
		name := fmt.Sprintf("plain-%v", sandboxed)
		return reconciler.RunSpec{
			Stack: reconciler.Stack{Name: "s", Dir: "s", Workspace: "default"}, Untrusted: true,
			Workdir: filepath.Join(dir, "checkout"), DataDir: filepath.Join(dir, "tfdata", name),
			StatePath: filepath.Join(dir, "state", "terraform.tfstate"),
		}
	}
	samples := map[bool][]float64{}
	n := max(reps*4, 8)
	for i := -1; i < n; i++ { // the first round inits both and is not counted
		for _, sandboxed := range []bool{false, true} {
			start := time.Now()
			if _, err := runners[sandboxed].Plan(ctx, spec(sandboxed)); err != nil {
				return fmt.Errorf("plan (sandboxed %v): %w", sandboxed, err)
			}
			if i >= 0 {
				samples[sandboxed] = append(samples[sandboxed], ms(time.Since(start)))
			}
		}
	}
	s := Sandbox{Plans: n, PlainMS: median(samples[false]), SandboxedMS: median(samples[true])}
	s.OverheadMS = round(s.SandboxedMS-s.PlainMS, 1)
	res.Sandbox = s
	res.note("sandbox", map[string][]float64{"plain_ms": samples[false], "sandboxed_ms": samples[true]})
	e.logf("sandbox: plain %.0f ms, sandboxed %.0f ms per plan (median of %d)", s.PlainMS, s.SandboxedMS, n)
	return nil
}
