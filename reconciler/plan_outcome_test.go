package reconciler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestPlanOutcome(t *testing.T) {
	started := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	now := started.Add(1500 * time.Millisecond)
	pr := &PullRequest{Number: 7, HeadBranch: "feature", Head: "p1"}
	pull := target{Name: "pr:7", Head: "p1", Pull: pr, Stacks: []string{"stacks/a"}}
	branch := target{Name: "feature", Head: "b1", Stacks: []string{"stacks/a"}}
	run := RunRecord{ID: "run-1", Stack: "stacks/a", Branch: "pr:7", Kind: RunPlan, Revision: "p1", Started: started, Result: ResultRunning}
	changes := []ResourceChange{{Address: "local_file.a", Action: ActionCreate}, {Address: "local_file.b", Action: ActionReplace}}
	tfErr := Errorf(KindFailed, "plan stacks/a", errors.New("\nError: Unsupported argument\n\n  on main.tf line 3"))
	canceled := Errorf(KindCanceled, "plan stacks/a", context.Canceled)

	finished := func(result RunResult, errText string, ch []ResourceChange) RunRecord {
		r := run
		r.Finished, r.Result, r.Error, r.Changes = now, result, errText, ch
		return r
	}
	tests := []struct {
		name string
		in   planRun
		want planResult
	}{{
		name: "no changes",
		in:   planRun{Target: pull, Stack: "stacks/a", Run: run, Plan: &Plan{Complete: true, Rendered: "No changes."}},
		want: planResult{
			Run: finished(ResultNoChanges, "", nil),
			Record: &BranchPlan{Target: "pr:7", Stack: "stacks/a", Revision: "p1", Result: ResultNoChanges,
				Rendered: "No changes.", Time: now},
			Status:  &commitStatus{State: StatusSuccess, Description: "no changes"},
			Publish: true,
			Log:     logLine{Level: slog.LevelInfo, Msg: "plan finished", Args: []any{"changes", "no changes", "duration", 1500 * time.Millisecond}},
		},
	}, {
		name: "changes, with a privilege notice",
		in: planRun{Target: pull, Stack: "stacks/a", Notice: "uses main's aws", Run: run,
			Plan: &Plan{Complete: true, Changes: changes, Rendered: "+ local_file.a"}},
		want: planResult{
			Run: finished(ResultSucceeded, "", changes),
			Record: &BranchPlan{Target: "pr:7", Stack: "stacks/a", Revision: "p1", Result: ResultSucceeded, Changes: changes,
				Add: 2, Delete: 1, Rendered: "+ local_file.a", Time: now, Notice: "uses main's aws"},
			Status:  &commitStatus{State: StatusSuccess, Description: "+2 ~0 -1"},
			Publish: true,
			Log:     logLine{Level: slog.LevelInfo, Msg: "plan finished", Args: []any{"changes", "+2 ~0 -1", "duration", 1500 * time.Millisecond}},
		},
	}, {
		name: "a branch's plan has no comment to publish",
		in:   planRun{Target: branch, Stack: "stacks/a", Run: run, Plan: &Plan{Complete: true}},
		want: planResult{
			Run:    finished(ResultNoChanges, "", nil),
			Record: &BranchPlan{Target: "feature", Stack: "stacks/a", Revision: "b1", Result: ResultNoChanges, Time: now},
			Status: &commitStatus{State: StatusSuccess, Description: "no changes"},
			Log:    logLine{Level: slog.LevelInfo, Msg: "plan finished", Args: []any{"changes", "no changes", "duration", 1500 * time.Millisecond}},
		},
	}, {
		name: "failed: the status shows Terraform's first line, without trueup's prefixes",
		in:   planRun{Target: pull, Stack: "stacks/a", Run: run, Err: tfErr},
		want: planResult{
			Run: finished(ResultFailed, tfErr.Error(), nil),
			Record: &BranchPlan{Target: "pr:7", Stack: "stacks/a", Revision: "p1", Result: ResultFailed,
				Error: tfErr.Error(), Time: now},
			Status:  &commitStatus{State: StatusFailure, Description: "Error: Unsupported argument"},
			Publish: true,
			Log:     logLine{Level: slog.LevelWarn, Msg: "plan failed", Args: []any{"err", tfErr}},
		},
	}, {
		name: "canceled: only the run is recorded, interrupted",
		in:   planRun{Target: pull, Stack: "stacks/a", Run: run, Err: canceled},
		want: planResult{Run: finished(ResultInterrupted, canceled.Error(), nil)},
	}, {
		name: "closed while planned: discarded, whatever the plan said",
		in:   planRun{Target: pull, Stack: "stacks/a", Run: run, Plan: &Plan{Complete: true, Changes: changes}, Gone: true},
		want: planResult{
			Run:     finished(ResultInterrupted, "the branch or pull request closed while it was planned", nil),
			Discard: true,
			Log:     logLine{Level: slog.LevelInfo, Msg: "plan discarded: the branch or pull request closed while it ran"},
		},
	}, {
		name: "closed while a failing plan ran: discarded too",
		in:   planRun{Target: pull, Stack: "stacks/a", Run: run, Err: tfErr, Gone: true},
		want: planResult{
			Run:     finished(ResultInterrupted, "the branch or pull request closed while it was planned", nil),
			Discard: true,
			Log:     logLine{Level: slog.LevelInfo, Msg: "plan discarded: the branch or pull request closed while it ran"},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, planOutcome(tt.in, now))
		})
	}
}

// A failed plan's text is capped for the record; the run keeps it whole.
func TestPlanOutcomeCapsAFailedPlansText(t *testing.T) {
	long := fmt.Errorf("plan: %s", string(make([]byte, 2*maxStoredRendering)))
	out := planOutcome(planRun{Target: target{Name: "b", Head: "h"}, Stack: "s", Err: long}, time.Time{})
	assert.Contains(t, out.Record.Error, "more cut by trueup")
	assert.Less(t, len(out.Record.Error), maxStoredRendering+100)
	assert.Equal(t, long.Error(), out.Run.Error)
}
