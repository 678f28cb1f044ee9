// Package remote runs Terraform away from the daemon: a reconciler.Runner that dispatches each
// plan and apply to a `trueup runner` process started by an Executor (a local child process, an
// ECS task...), and the small HTTP protocol between the two.
//
// The protocol is push-based and deadline-bound. The daemon (the control plane) registers every
// run under a fresh id with a one-time random token and asks the Executor to start a runner with
// the id, the token and the control plane's URL. The runner then calls, with
// `Authorization: Bearer <token>`:
//
//	GET  /runner/v1/runs/{id}/job         the Job: stack, revision, settings, the run's environment
//	GET  /runner/v1/runs/{id}/tree        the revision's files, a tar.gz built from the daemon's checkout
//	GET  /runner/v1/runs/{id}/plan-file   an apply's vetted plan file (its SHA-256 is in the Job)
//	POST /runner/v1/runs/{id}/heartbeat   "still here" (every Job.HeartbeatMillis)
//	POST /runner/v1/runs/{id}/log         log lines, text, one per line (also a heartbeat)
//	PUT  /runner/v1/runs/{id}/plan-file   a plan's plan file, with X-Trueup-Sha256
//	POST /runner/v1/runs/{id}/result      the Result; the run ends with it
//
// The token is the only credential these routes accept; it dies when the run ends, is canceled
// or is superseded, and a call with a dead token gets 410 Gone (an unknown run) or 401 (a wrong
// token). Every decision stays in the daemon: the runner only runs Terraform and reports.
package remote

import (
	"errors"
	"fmt"

	"github.com/trueup/trueup/reconciler"
)

// PathPrefix is where the runner routes live on the daemon's HTTP server.
const PathPrefix = "/runner/v1/"

// SHA256Header carries the hex SHA-256 of an uploaded or downloaded plan file.
const SHA256Header = "X-Trueup-Sha256"

// Limits of what the daemon accepts from a runner, and a runner from the daemon.
const (
	maxJobBody    = 4 << 20   // a Job (with its environment)
	maxLogBody    = 256 << 10 // one POST of log lines
	maxResultBody = 16 << 20  // a Result (the rendered plan)
	// MaxPlanFile bounds a plan file, both ways.
	MaxPlanFile = 256 << 20
	// maxTreeBytes and maxTreeEntries bound what a runner unpacks of a tree.
	maxTreeBytes   = 2 << 30
	maxTreeEntries = 200_000
)

// Purpose is what a run does, and so which identity its runner gets from the platform.
type Purpose string

// Purposes.
const (
	PurposePlan  Purpose = "plan"
	PurposeApply Purpose = "apply"
)

// Job is everything a runner needs for one run. It holds the run's credentials (Env): it is
// served only with the run's token, and never logged.
type Job struct {
	RunID    string   `json:"run_id"`
	Purpose  Purpose  `json:"purpose"`
	Stack    JobStack `json:"stack"`
	Revision string   `json:"revision"`
	// Untrusted runs (branch and pull request code) get the sandbox and never apply.
	Untrusted bool `json:"untrusted"`
	Render    bool `json:"render"`
	// Env is the run's whole extra environment: the pass_env variables trusted configuration gives
	// this kind of run, then its credentials.
	Env map[string]string `json:"env,omitempty"`
	// StatePath is where a stack without a backend keeps its state, when the runner shares the
	// daemon's filesystem (the process executor); "" otherwise, and such stacks fail.
	StatePath string `json:"state_path,omitempty"`
	// DataDir and SeedDataDir are the run's TF data dir and its seed (reconciler.RunSpec's) when the
	// runner shares the daemon's filesystem: the runner then works in them, as the local runner
	// would, and inits only when init's inputs changed. "" otherwise: a data dir of its own.
	DataDir     string `json:"data_dir,omitempty"`
	SeedDataDir string `json:"seed_data_dir,omitempty"`
	// PlanSHA256 is the hex SHA-256 of the plan file an apply must apply.
	PlanSHA256 string `json:"plan_sha256,omitempty"`
	// HeartbeatMillis is how often the runner must say it is alive.
	HeartbeatMillis int64        `json:"heartbeat_ms"`
	Terraform       JobTerraform `json:"terraform"`
}

// JobStack is the part of a reconciler.Stack that running it needs.
type JobStack struct {
	Name      string   `json:"name"`
	Dir       string   `json:"dir"`
	Workspace string   `json:"workspace"`
	VarFiles  []string `json:"var_files,omitempty"`
}

// JobTerraform are the daemon's Terraform settings that hold for the run.
type JobTerraform struct {
	LockTimeoutMillis int64 `json:"lock_timeout_ms"`
	// Sandbox is terraform.sandbox: auto, required or off.
	Sandbox         string   `json:"sandbox"`
	SandboxReadOnly []string `json:"sandbox_read_only,omitempty"`
}

// Result is what a runner reports at the end of its run: exactly one of Plan, Apply or Error.
type Result struct {
	Plan  *PlanResult  `json:"plan,omitempty"`
	Apply *ApplyResult `json:"apply,omitempty"`
	Error *ErrorResult `json:"error,omitempty"`
}

// PlanResult is a reconciler.Plan without its file, which was uploaded before (SHA256).
type PlanResult struct {
	SHA256          string                      `json:"sha256"`
	Changes         []reconciler.ResourceChange `json:"changes,omitempty"`
	Drift           []reconciler.ResourceDrift  `json:"drift,omitempty"`
	Complete        bool                        `json:"complete"`
	OutputChanges   bool                        `json:"output_changes"`
	Rendered        string                      `json:"rendered,omitempty"`
	TerraformMillis int64                       `json:"terraform_ms"`
}

// ApplyResult is a successful apply.
type ApplyResult struct {
	TerraformMillis int64 `json:"terraform_ms"`
}

// ErrorResult is a failed run: the reconciler.Error's kind (its String), operation and text.
type ErrorResult struct {
	Kind    string `json:"kind"`
	Op      string `json:"op"`
	Message string `json:"message"`
}

// errorResult describes err for the control plane.
func errorResult(err error) *ErrorResult {
	var e *reconciler.Error
	if errors.As(err, &e) {
		return &ErrorResult{Kind: e.Kind.String(), Op: e.Op, Message: e.Err.Error()}
	}
	return &ErrorResult{Kind: reconciler.KindFailed.String(), Op: "runner", Message: err.Error()}
}

// err is the reconciler error the runner reported.
func (e *ErrorResult) err() error {
	kind, ok := parseKind(e.Kind)
	if !ok {
		return reconciler.Errorf(reconciler.KindFailed, "runner", fmt.Errorf("runner reported an unknown error kind %q: %s", e.Kind, e.Message))
	}
	op := e.Op
	if op == "" {
		op = "runner"
	}
	return reconciler.Errorf(kind, op, errors.New(e.Message))
}

func parseKind(s string) (reconciler.ErrorKind, bool) {
	for _, k := range []reconciler.ErrorKind{reconciler.KindFailed, reconciler.KindTransient, reconciler.KindLocked, reconciler.KindCanceled} {
		if k.String() == s {
			return k, true
		}
	}
	return reconciler.KindFailed, false
}

// validate checks that the result says one thing, and the right thing for purpose.
func (r *Result) validate(purpose Purpose) error {
	n := 0
	for _, set := range []bool{r.Plan != nil, r.Apply != nil, r.Error != nil} {
		if set {
			n++
		}
	}
	switch {
	case n != 1:
		return errors.New("a result must hold exactly one of plan, apply or error")
	case r.Plan != nil && purpose != PurposePlan:
		return errors.New("a plan result for an apply run")
	case r.Apply != nil && purpose != PurposeApply:
		return errors.New("an apply result for a plan run")
	}
	return nil
}
