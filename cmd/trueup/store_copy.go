package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/terraform"
)

// copySource is the bbolt store a copy reads: the Store contract, and the listings it lacks.
type copySource interface {
	reconciler.Store
	PlanTargets(ctx context.Context) ([]string, error)
	Merges(ctx context.Context) (map[reconciler.Revision]int, error)
}

// copyTarget is the PostgreSQL store a copy writes, and where Terraform's pg backend keeps states.
type copyTarget struct {
	store reconciler.Store
	// putState writes data as the state of workspace in schema, as Terraform's pg backend keeps it
	// (creating the schema and table as Terraform would), with the role Terraform logs in with.
	putState func(ctx context.Context, schema, workspace string, data []byte) error
}

// copyReport counts what a copy moved.
type copyReport struct {
	Stacks, Runs, InFlight, Alerts, Plans, Pulls, Merges, States int
}

func (r copyReport) String() string {
	return fmt.Sprintf("%d stacks, %d finished runs, %d runs in flight, %d undelivered alerts, %d branch and pull request plans, %d pull requests, %d merges, %d Terraform states",
		r.Stacks, r.Runs, r.InFlight, r.Alerts, r.Plans, r.Pulls, r.Merges, r.States)
}

// copyStore copies everything from a bbolt store and the local Terraform state of its data dir into
// an empty PostgreSQL store: stack states (with their holds, approvals and drift episodes), run
// history, runs in flight (the next leader reports them interrupted), the outbox in order, branch and
// pull request plans, pull requests, merges, and each stack's local state into its pg schema.
func copyStore(ctx context.Context, from copySource, to copyTarget, dataDir string) (copyReport, error) {
	var rep copyReport
	existing, err := to.store.Stacks(ctx)
	if err != nil {
		return rep, fmt.Errorf("read the target store: %w", err)
	}
	if len(existing) > 0 {
		return rep, fmt.Errorf("the target store already holds %d stacks: copy only into an empty store, never merge two histories", len(existing))
	}
	stacks, err := from.Stacks(ctx)
	if err != nil {
		return rep, err
	}
	for _, st := range stacks {
		if err := copyStack(ctx, from, to, st, dataDir, &rep); err != nil {
			return rep, fmt.Errorf("stack %s: %w", st.Name, err)
		}
	}
	steps := []func(context.Context, copySource, copyTarget, *copyReport) error{copyInFlight, copyOutbox, copyPlans, copyPulls, copyMerges}
	for _, step := range steps {
		if err := step(ctx, from, to, &rep); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// copyStack copies one stack's state, its run history (oldest first, so the order is kept) and its
// local Terraform state.
func copyStack(ctx context.Context, from copySource, to copyTarget, st reconciler.StackState, dataDir string, rep *copyReport) error {
	runs, err := from.Runs(ctx, st.Name, 0)
	if err != nil {
		return err
	}
	slices.Reverse(runs)
	for _, run := range runs {
		if err := to.store.FinishRun(ctx, run); err != nil {
			return err
		}
		rep.Runs++
	}
	if err := to.store.PutStack(ctx, st); err != nil {
		return err
	}
	rep.Stacks++
	n, err := copyLocalState(ctx, to, st.Name, filepath.Join(dataDir, "state", reconciler.Slug(st.Name)))
	rep.States += n
	return err
}

// copyLocalState moves the state files trueup kept for stack in dir (the default workspace's, and
// each of workspaces/<name>/) into the stack's pg schema. A stack with a backend of its own has none.
func copyLocalState(ctx context.Context, to copyTarget, stack, dir string) (int, error) {
	files := map[string]string{"default": defaultStateFile(dir)}
	if entries, err := os.ReadDir(filepath.Join(dir, "workspaces")); err == nil {
		for _, e := range entries {
			if e.IsDir() {
				files[e.Name()] = filepath.Join(dir, "workspaces", e.Name(), "terraform.tfstate")
			}
		}
	}
	n := 0
	for workspace, path := range files {
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return n, err
		}
		if err := to.putState(ctx, terraform.StateSchema(stack), workspace, data); err != nil {
			return n, fmt.Errorf("state of workspace %s: %w", workspace, err)
		}
		n++
	}
	return n, nil
}

// defaultStateFile is the default workspace's state in a stack's state dir: terraform.tfstate, or the
// one *.tfstate file there (a stack whose local backend named its own file, relative to it).
func defaultStateFile(dir string) string {
	path := filepath.Join(dir, "terraform.tfstate")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "*.tfstate"))
	if len(matches) == 1 {
		return matches[0]
	}
	return path
}

func copyInFlight(ctx context.Context, from copySource, to copyTarget, rep *copyReport) error {
	runs, err := from.InFlight(ctx)
	if err != nil {
		return err
	}
	for _, run := range runs {
		if err := to.store.StartRun(ctx, run); err != nil {
			return fmt.Errorf("run in flight %s: %w", run.ID, err)
		}
		rep.InFlight++
	}
	return nil
}

func copyOutbox(ctx context.Context, from copySource, to copyTarget, rep *copyReport) error {
	events, err := from.Outbox(ctx, 0)
	if err != nil {
		return err
	}
	for _, e := range events {
		e.Seq = 0 // the target numbers them anew, in the same order
		if _, err := to.store.Enqueue(ctx, e); err != nil {
			return fmt.Errorf("alert: %w", err)
		}
		rep.Alerts++
	}
	return nil
}

func copyPlans(ctx context.Context, from copySource, to copyTarget, rep *copyReport) error {
	targets, err := from.PlanTargets(ctx)
	if err != nil {
		return err
	}
	for _, target := range targets {
		plans, err := from.BranchPlans(ctx, target)
		if err != nil {
			return err
		}
		for _, p := range plans {
			if err := to.store.PutBranchPlan(ctx, p); err != nil {
				return fmt.Errorf("plan %s of %s: %w", p.Stack, target, err)
			}
			rep.Plans++
		}
	}
	return nil
}

func copyPulls(ctx context.Context, from copySource, to copyTarget, rep *copyReport) error {
	pulls, err := from.Pulls(ctx)
	if err != nil {
		return err
	}
	for _, pr := range pulls {
		if err := to.store.PutPull(ctx, pr); err != nil {
			return fmt.Errorf("pull request %d: %w", pr.Number, err)
		}
		rep.Pulls++
	}
	return nil
}

func copyMerges(ctx context.Context, from copySource, to copyTarget, rep *copyReport) error {
	merges, err := from.Merges(ctx)
	if err != nil {
		return err
	}
	for commit, pr := range merges {
		if err := to.store.RecordMerge(ctx, commit, pr); err != nil {
			return fmt.Errorf("merge %s: %w", commit.Short(), err)
		}
		rep.Merges++
	}
	return nil
}
