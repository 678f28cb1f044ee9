package main

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/trueup/trueup/reconciler"
)

// benchMerge runs merge_apply, module_fanout, pr_comment and then memory against one daemon
// following a 100-stack repository (200 for memory), with the stub GitHub API and signed webhooks.
// The poll interval is an hour, so only the webhooks make the daemon look at the repository.
func benchMerge(ctx context.Context, e *env, reps int, res *Results) error {
	const stacks = 100
	dir, err := e.dir("merge")
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
	in := infra{Stacks: stacks, Resources: 4, ViaMid: fanoutViaMid, Direct: fanoutDirect, OutDir: filepath.Join(dir, "out"), LockFile: e.lockFile}
	head, err := repo.commitAndPush("initial infrastructure", in.Files())
	if err != nil {
		return err
	}
	d, err := e.startDaemon(ctx, "merge/daemon", daemonConfig{RepoURL: repo.URL(), Workers: 2, PollInterval: time.Hour, GitHubAPI: stub.url})
	if err != nil {
		return err
	}
	defer d.stop()
	t0 := time.Now()
	failed, err := e.waitApplied(ctx, d, names(stacks), head, 15*time.Minute)
	if err != nil {
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("initial apply failed for %v", failed)
	}
	e.logf("  %d stacks applied in %s", stacks, time.Since(t0).Round(100*time.Millisecond))
	m := mergeBench{e: e, d: d, repo: repo, stub: stub, in: in, head: head}

	if err := m.mergeApply(ctx, reps, res); err != nil {
		return fmt.Errorf("merge_apply: %w", err)
	}
	if err := m.moduleFanout(ctx, res); err != nil {
		return fmt.Errorf("module_fanout: %w", err)
	}
	if err := m.prComment(ctx, reps, res); err != nil {
		return fmt.Errorf("pr_comment: %w", err)
	}
	if err := m.memory(ctx, res); err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	if err := m.mergeDuringDrift(ctx, res); err != nil {
		return fmt.Errorf("merge_during_drift: %w", err)
	}
	if err := m.prFanout(ctx, res); err != nil {
		return fmt.Errorf("module_fanout (pull request): %w", err)
	}
	return nil
}

type mergeBench struct {
	e    *env
	d    *daemon
	repo *gitRepo
	stub *ghStub
	in   infra
	head string
}

// push commits files to main, pushes, and delivers the push webhook once the daemon is idle. It
// returns when the webhook was sent.
func (m *mergeBench) push(ctx context.Context, msg string, files map[string]string) (time.Time, error) {
	if _, err := m.repo.commit(msg, files); err != nil {
		return time.Time{}, err
	}
	return m.pushCommitted(ctx)
}

// pushCommitted pushes main as committed and delivers the push webhook once the daemon is idle.
func (m *mergeBench) pushCommitted(ctx context.Context) (time.Time, error) {
	before := m.head
	if _, err := m.repo.git("push", "--quiet", "origin", "main"); err != nil {
		return time.Time{}, err
	}
	head, err := m.repo.rev("main")
	if err != nil {
		return time.Time{}, err
	}
	m.head = head
	if err := waitIdle(ctx, m.d, 500*time.Millisecond, time.Minute); err != nil {
		return time.Time{}, err
	}
	t0 := time.Now()
	return t0, m.d.webhook(ctx, "push", pushEvent("refs/heads/main", before, head))
}

// mergeApply changes one stack per commit and measures the time from the push webhook to the
// apply being recorded, minus Terraform's own time for that stack.
func (m *mergeBench) mergeApply(ctx context.Context, reps int, res *Results) error {
	overheads, samples, maxPlanned, err := m.timeMerges(ctx, reps, func(i int) (string, map[string]string) {
		idx := 50 + 10*i
		stack := stackName(idx)
		return stack, map[string]string{stack + "/main.tf": m.in.Stack(idx, fmt.Sprintf("v%d", i+2))}
	})
	if err != nil {
		return err
	}
	res.MergeApply = MergeApply{StacksTotal: m.in.Stacks, StacksPlanned: maxPlanned, OverheadMS: round(median(overheads), 1)}
	res.note("merge_apply", map[string]any{"samples": samples, "how": mergeHow})
	return nil
}

const mergeHow = "push to the bare repository, then a signed push webhook; total = the stack's last_run.finished (API) " +
	"minus the webhook send time; Terraform = the sum of the daemon's debug \"terraform\" lines for the stack " +
	"(init, plan, show, apply); stacks_planned = the most distinct stacks logging \"apply started\" for one commit"

// timeMerges pushes reps commits to main, commit i changing what change(i) says (one stack), and
// times each from the push webhook to the stack's apply recorded, minus Terraform's own time for
// that stack. It returns the overheads in ms, a sample for each, and the most stacks that started
// an apply for one commit.
func (m *mergeBench) timeMerges(ctx context.Context, reps int, change func(i int) (string, map[string]string)) ([]float64, []map[string]any, int, error) {
	var overheads []float64
	var samples []map[string]any
	maxPlanned := 0
	for i := range reps {
		stack, files := change(i)
		t0, err := m.push(ctx, fmt.Sprintf("%s: v%d", stack, i+2), files)
		if err != nil {
			return nil, nil, 0, err
		}
		var lr *reconciler.RunRecord
		// The end is the run's own finished time, so the poll's pace costs no accuracy; it reads
		// one stack, so it costs the daemon little while it is being timed.
		err = waitFor(ctx, stack+" applied", 2*time.Minute, 100*time.Millisecond, func() (bool, error) {
			st, err := m.d.stack(ctx, stack)
			lr = st.LastRun
			return err == nil && lr != nil && lr.Kind == reconciler.RunApply && string(lr.Revision) == m.head && !lr.Finished.IsZero(), err
		})
		if err != nil {
			return nil, nil, 0, err
		}
		if lr.Result != reconciler.ResultSucceeded {
			return nil, nil, 0, fmt.Errorf("apply of %s: %s %s", stack, lr.Result, lr.Error)
		}
		if err := waitIdle(ctx, m.d, 500*time.Millisecond, 5*time.Minute); err != nil {
			return nil, nil, 0, err
		}
		tf, byOp := m.d.logs.terraformTime(stack, t0)
		total := lr.Finished.Sub(t0)
		overhead := total - tf
		started := stacksStarted(m.d, t0)
		maxPlanned = max(maxPlanned, len(started))
		overheads = append(overheads, ms(overhead))
		samples = append(samples, map[string]any{
			"stack": stack, "total_ms": ms(total), "terraform_ms": ms(tf), "overhead_ms": ms(overhead),
			"terraform_ops_ms": opsMS(byOp), "stacks_started": started,
		})
		m.e.logf("  merge %d: %s applied %s after the webhook; Terraform %s; overhead %s; stacks run %v",
			i+1, stack, total.Round(time.Millisecond), tf.Round(time.Millisecond), overhead.Round(time.Millisecond), started)
	}
	return overheads, samples, maxPlanned, nil
}

// moduleFanout changes modules/fanout-leaf, which 7 stacks call directly or through modules/fanout-mid.
func (m *mergeBench) moduleFanout(ctx context.Context, res *Results) error {
	expected := m.in.FanoutStacks()
	t0, err := m.push(ctx, "fanout-leaf: v2", map[string]string{"modules/fanout-leaf/main.tf": leafModule("v2")})
	if err != nil {
		return err
	}
	err = waitFor(ctx, "the module's callers applied", 3*time.Minute, 250*time.Millisecond, func() (bool, error) {
		all, err := m.d.stacks(ctx)
		if err != nil {
			return false, err
		}
		for _, s := range expected {
			lr := all[s].LastRun
			if lr == nil || lr.Kind != reconciler.RunApply || string(lr.Revision) != m.head || lr.Finished.IsZero() {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	if err := waitIdle(ctx, m.d, time.Second, 2*time.Minute); err != nil {
		return err
	}
	started := stacksStarted(m.d, t0)
	res.ModuleFanout = ModuleFanout{StacksTotal: m.in.Stacks, Expected: len(expected), Planned: len(started)}
	var missing, extra []string
	for _, s := range expected {
		if !slices.Contains(started, s) {
			missing = append(missing, s)
		}
	}
	for _, s := range started {
		if !slices.Contains(expected, s) {
			extra = append(extra, s)
		}
	}
	res.note("module_fanout", map[string]any{"expected": expected, "planned": started, "missing": missing, "extra": extra})
	m.e.logf("  module change: %d stacks run (expected %d); missing %v, extra %v", len(started), len(expected), missing, extra)
	return nil
}

// prComment opens pull requests that change one stack each and measures the time from the
// pull_request webhook to the last comment write for it, minus Terraform's own time.
func (m *mergeBench) prComment(ctx context.Context, reps int, res *Results) error {
	var overheads, totals, floors []float64
	var samples []map[string]any
	base := baseline{e: m.e, dataDir: m.d.dataDir, planDir: filepath.Join(filepath.Dir(m.d.dataDir), "floor-plans")}
	for i := range reps {
		n, idx := i+1, 20+i
		stack := stackName(idx)
		branch := fmt.Sprintf("change-s%03d", idx)
		rev, err := m.repo.pullRequest(n, branch, map[string]string{stack + "/main.tf": m.in.Stack(idx, "pr")})
		if err != nil {
			return err
		}
		pr := stubPull{Number: n, Branch: branch, Head: rev, Stack: idx}
		m.stub.addPull(pr)
		if err := waitIdle(ctx, m.d, 500*time.Millisecond, time.Minute); err != nil {
			return err
		}
		t0 := time.Now()
		if err := m.d.webhook(ctx, "pull_request", pullRequestEvent("opened", pr)); err != nil {
			return err
		}
		target := fmt.Sprintf("pr:%d", n) // a pull request's target name
		var planned logEntry
		err = waitFor(ctx, "the plan of "+target, 2*time.Minute, 20*time.Millisecond, func() (bool, error) {
			for _, msg := range []string{"plan finished", "plan failed"} {
				if found := m.d.logs.find(msg, t0, "target", target); len(found) > 0 {
					planned = found[0]
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			return err
		}
		if planned.Msg != "plan finished" {
			return fmt.Errorf("plan of %s on %s failed: %s", stack, target, planned.str("err"))
		}
		// The comment is edited once more after the plan is recorded; then the daemon goes quiet.
		err = waitFor(ctx, "the final comment on "+target, time.Minute, 20*time.Millisecond, func() (bool, error) {
			return len(m.stub.commentWrites(n, planned.Time)) > 0, nil
		})
		if err != nil {
			return err
		}
		if err := waitIdle(ctx, m.d, time.Second, time.Minute); err != nil {
			return err
		}
		writes := m.stub.commentWrites(n, t0)
		last := writes[len(writes)-1].At
		tf, byOp := m.d.logs.terraformTime(stack, t0)
		total := last.Sub(t0)
		overhead := total - tf
		overheads = append(overheads, ms(overhead))
		floor, err := base.floor(ctx, target, stack)
		if err != nil {
			return err
		}
		totals, floors = append(totals, ms(total)), append(floors, ms(floor))
		samples = append(samples, map[string]any{
			"pr": n, "stack": stack, "total_ms": ms(total), "terraform_ms": ms(tf), "overhead_ms": ms(overhead),
			"terraform_ops_ms": opsMS(byOp), "comment_writes": len(writes), "floor_ms": ms(floor),
		})
		m.e.logf("  PR #%d: last comment %s after the webhook; Terraform %s; overhead %s; %d comment writes",
			n, total.Round(time.Millisecond), tf.Round(time.Millisecond), overhead.Round(time.Millisecond), len(writes))
	}
	res.PRComment = PRComment{OverheadMS: round(median(overheads), 1), FloorMS: round(median(floors), 1)}
	if res.PRComment.FloorMS > 0 {
		res.PRComment.Ratio = round(median(totals)/res.PRComment.FloorMS, 3)
	}
	res.note("pr_comment", map[string]any{
		"samples": samples,
		"how": "push a branch, set refs/pull/N/head, list the pull request on the stub, send a signed pull_request " +
			"\"opened\" webhook; total = when the stub received the last comment create/edit for it; Terraform = the " +
			"sum of the debug \"terraform\" lines for the stack (init, plan, show -json, show)",
	})
	return nil
}

func opsMS(byOp map[string]time.Duration) map[string]float64 {
	out := map[string]float64{}
	for op, d := range byOp {
		out[op] = ms(d)
	}
	return out
}
