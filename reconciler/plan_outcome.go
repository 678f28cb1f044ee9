package reconciler

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxStoredRendering caps the plan text kept per stack and target; the rest is cut with a note.
const maxStoredRendering = 1 << 20

// planTarget plans one stack on a branch or pull request, records what a reviewer will see, and
// updates the commit status and the pull request comment: observe, plan, decide (planOutcome), then
// act and record.
func (p *planner) planTarget(ctx context.Context, k Key) {
	if p.staleWaitsForMain(k) {
		return
	}
	mainHead, _ := p.main()
	t, spec, notice, ok := p.planWanted(ctx, k)
	if !ok {
		return
	}
	stack := spec.Stack
	in := planRun{Target: t, Stack: stack.Name, Notice: notice}
	if in.Run, ok = p.runs.startRun(ctx, stack.Name, t.Name, RunPlan, t.Head); !ok {
		return
	}
	log := p.log.With("stack", stack.Name, "target", t.Name, "rev", t.Head.Short(), "run", in.Run.ID)
	log.Info("plan started")
	in.Plan, in.Err = p.runPlan(ctx, t, spec)
	now := p.now()
	in.Gone = p.targetGone(t.Name)
	out := planOutcome(in, now)

	if out.Discard {
		// Clean up before the run is recorded finished: a run no longer in flight has left nothing behind.
		p.removeWorkdirs(t.Name)
	}
	if out.Status != nil {
		p.setStatus(ctx, t.Head, stack.Name, out.Status.State, out.Status.Description)
	}
	if out.Log.Msg != "" {
		log.Log(ctx, out.Log.Level, out.Log.Msg, out.Log.Args...)
	}
	p.runs.finishRun(ctx, out.Run)
	if out.Record != nil {
		p.putPlan(ctx, *out.Record)
		p.stale.clear(k, mainHead)
	}
	if out.Publish {
		p.publish(ctx, t.Name)
	}
}

// planWanted returns the target and where its stack runs (with trusted privilege, and the notice
// about it) that k asks to plan, or false when there is nothing to plan: the target moved on or
// closed (its new head queues its own work), or the stack is already planned at this head.
func (p *planner) planWanted(ctx context.Context, k Key) (target, RunSpec, string, bool) {
	t, stacks, ok := p.followed(k.Branch)
	i := slices.IndexFunc(stacks.planned, func(s Stack) bool { return s.Name == k.Stack })
	if !ok || i < 0 || !slices.Contains(t.Stacks, k.Stack) {
		return target{}, RunSpec{}, "", false
	}
	if forced := p.replans.take(k); !forced && p.plannedAt(ctx, t, k.Stack) {
		return target{}, RunSpec{}, "", false
	}
	stack, notice := p.trustedPrivilege(stacks.planned[i])
	return t, p.runs.spec(stack, t.Head, t.Name, stacks.dirs), notice, true
}

// plannedAt reports whether stack has a finished plan at t's head.
func (p *planner) plannedAt(ctx context.Context, t target, stack string) bool {
	prev, err := p.store.BranchPlan(ctx, t.Name, stack)
	return err == nil && prev.Revision == t.Head && prev.Result != ResultRunning
}

// runPlan plans spec's stack at t's head with the code of t's branch.
func (p *planner) runPlan(ctx context.Context, t target, spec RunSpec) (*Plan, error) {
	spec.Render = true
	pr, codeBranch := 0, t.Name
	if t.Pull != nil {
		pr, codeBranch = t.Pull.Number, t.Pull.HeadBranch
	}
	return p.runs.planFor(ctx, spec, PurposePlan, codeBranch, pr)
}

// planRun is what planTarget observed of one plan of a stack on a target.
type planRun struct {
	Target target
	Stack  string
	Notice string // shown with the plan (see trustedPrivilege)
	Run    RunRecord
	Plan   *Plan
	Err    error
	Gone   bool // the target closed while it was planned
}

// planResult is what to do after one plan.
type planResult struct {
	Run     RunRecord     // the run record, finished
	Record  *BranchPlan   // what a reviewer sees; nil records nothing
	Status  *commitStatus // the stack's commit status; nil leaves it
	Publish bool          // update the pull request's comment
	Discard bool          // remove the target's workdirs before the run is recorded finished
	Log     logLine
}

// commitStatus is a stack's commit status on a revision.
type commitStatus struct {
	State       StatusState
	Description string
}

// logLine is one line for the run's logger; an empty Msg logs nothing.
type logLine struct {
	Level slog.Level
	Msg   string
	Args  []any
}

// planOutcome decides what one plan of a stack on a target leaves behind. It does no I/O.
//
// A plan of a target that closed while it ran is discarded: nobody was shown it, so it must not
// become the reviewed plan. A canceled plan is recorded only as an interrupted run.
func planOutcome(in planRun, now time.Time) planResult {
	run := in.Run
	run.Finished = now
	t := in.Target
	switch {
	case in.Gone:
		run.Result, run.Error = ResultInterrupted, "the branch or pull request closed while it was planned"
		return planResult{Run: run, Discard: true,
			Log: logLine{Level: slog.LevelInfo, Msg: "plan discarded: the branch or pull request closed while it ran"}}
	case in.Err != nil && KindOf(in.Err) == KindCanceled:
		run.Result, run.Error = ResultInterrupted, in.Err.Error()
		return planResult{Run: run}
	}
	bp := BranchPlan{Target: t.Name, Stack: in.Stack, Revision: t.Head, Time: now, Notice: in.Notice}
	out := planResult{Record: &bp, Publish: t.Pull != nil}
	if in.Err != nil {
		bp.Result, bp.Error = ResultFailed, capText(in.Err.Error(), maxStoredRendering)
		run.Result, run.Error = ResultFailed, in.Err.Error()
		out.Status = &commitStatus{State: StatusFailure, Description: firstLine(terraformError(in.Err))}
		out.Log = logLine{Level: slog.LevelWarn, Msg: "plan failed", Args: []any{"err", in.Err}}
		out.Run = run
		return out
	}
	bp.Result = ResultNoChanges
	if in.Plan.HasChanges() {
		bp.Result = ResultSucceeded
	}
	bp.Changes, bp.Rendered = in.Plan.Changes, capText(in.Plan.Rendered, maxStoredRendering)
	bp.Add, bp.Change, bp.Delete = in.Plan.Counts()
	run.Result, run.Changes = bp.Result, in.Plan.Changes
	out.Status = &commitStatus{State: StatusSuccess, Description: in.Plan.Summary()}
	out.Log = logLine{Level: slog.LevelInfo, Msg: "plan finished",
		Args: []any{"changes", in.Plan.Summary(), "duration", now.Sub(run.Started).Round(time.Millisecond)}}
	out.Run = run
	return out
}

// terraformError is the text of err without trueup's operation prefixes, for a status line.
func terraformError(err error) string {
	var e *Error
	for errors.As(err, &e) {
		err = e.Err
	}
	return err.Error()
}

// putPlan records bp, even when ctx is done: a plan that ran is shown.
func (p *planner) putPlan(ctx context.Context, bp BranchPlan) {
	if err := p.store.PutBranchPlan(context.WithoutCancel(ctx), bp); err != nil {
		p.log.Error("record plan", "target", bp.Target, "stack", bp.Stack, "err", err)
	}
}

// capText returns s cut to at most limit bytes (at a line end when there is one near, never inside
// a UTF-8 sequence), with a last line saying how much was cut.
func capText(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	if nl := strings.LastIndexByte(s[:cut], '\n'); nl > limit/2 {
		cut = nl + 1
	}
	return s[:cut] + "\n… " + strings.TrimSpace(humanBytes(len(s)-cut)) + " more cut by trueup\n"
}

func humanBytes(n int) string {
	switch {
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
	}
	return strconv.Itoa(n) + " bytes"
}
