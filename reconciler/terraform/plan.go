package terraform

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/hashicorp/terraform-exec/tfexec"
	tfjson "github.com/hashicorp/terraform-json"

	"github.com/trueup/trueup/reconciler"
)

// PlanFileName is the plan file's name inside RunSpec.DataDir.
const PlanFileName = "plan.tfplan"

// Plan inits when needed, runs terraform plan to DataDir/plan.tfplan and reads the plan back.
//
// The plan is read with `terraform show -json` only when plan's exit code says there are
// changes: a plan without changes is returned with File set, Complete true and no Changes or
// Drift. Drift is therefore reported only when it matters to the configuration (it changes
// what the plan does); a refresh that only updates state without planned changes is not
// reported. Rendered is filled only when spec.Render is set and there are changes: the human
// rendering plan printed itself (what terraform show prints of the plan file), so no third Terraform
// process runs.
func (r *Runner) Plan(ctx context.Context, spec reconciler.RunSpec) (*reconciler.Plan, error) {
	j, err := r.newJob(spec)
	if err != nil {
		return nil, err
	}
	defer j.close()
	if err := j.ensureInit(ctx); err != nil {
		return nil, err
	}
	planFile := filepath.Join(spec.DataDir, PlanFileName)
	opts := []tfexec.PlanOption{tfexec.Out(planFile), tfexec.LockTimeout(r.lockTimeout)}
	for _, vf := range spec.Stack.VarFiles {
		opts = append(opts, tfexec.VarFile(filepath.FromSlash(vf))) // relative to the stack dir, Terraform's working dir
	}
	var changed bool
	err = j.call(ctx, "plan", func(ctx context.Context) (err error) {
		changed, err = j.tf.Plan(ctx, opts...)
		return err
	})
	if err != nil {
		return nil, err
	}
	planOutput := j.stdout.String() // the next call resets the buffer
	plan := &reconciler.Plan{File: planFile, Complete: true}
	if changed {
		var tp *tfjson.Plan
		err = j.call(ctx, "show", func(ctx context.Context) (err error) {
			tp, err = j.tf.ShowPlanFile(ctx, planFile)
			return err
		})
		if err != nil {
			return nil, err
		}
		fromJSON(tp, plan)
		if spec.Render {
			if plan.Rendered, err = j.render(ctx, planOutput, planFile); err != nil {
				return nil, err
			}
		}
	}
	plan.TerraformTime = j.spent
	return plan, nil
}

// Apply applies exactly plan.File. Terraform refuses a plan file that is stale (the state changed
// since the plan), which is reported as KindFailed.
func (r *Runner) Apply(ctx context.Context, spec reconciler.RunSpec, plan *reconciler.Plan) (*reconciler.ApplyResult, error) {
	if plan == nil || plan.File == "" {
		return nil, reconciler.Errorf(reconciler.KindFailed, "apply", fmt.Errorf("%s: no plan file to apply", spec.Stack.Name))
	}
	if spec.Untrusted {
		return nil, reconciler.Errorf(reconciler.KindFailed, "apply", fmt.Errorf("%s: untrusted code is never applied", spec.Stack.Name))
	}
	j, err := r.newJob(spec)
	if err != nil {
		return nil, err
	}
	defer j.close()
	// The plan's init is normally still valid (this is a no-op then); after a restart or a
	// cleaned data dir it is needed to find the providers again.
	if err := j.ensureInit(ctx); err != nil {
		return nil, err
	}
	err = j.call(ctx, "apply", func(ctx context.Context) error {
		return j.tf.Apply(ctx, tfexec.DirOrPlan(plan.File), tfexec.LockTimeout(r.lockTimeout))
	})
	if err != nil {
		return nil, err
	}
	return &reconciler.ApplyResult{TerraformTime: j.spent}, nil
}

// render is Terraform's human rendering of the plan: plan's own output without what terraform show
// would not print, or terraform show itself when that output is not recognised.
func (j *job) render(ctx context.Context, planOutput, planFile string) (string, error) {
	if text, ok := renderingFromPlanOutput(planOutput); ok {
		return text, nil
	}
	var text string
	err := j.call(ctx, "show", func(ctx context.Context) (err error) {
		text, err = j.tf.ShowPlanFileRaw(ctx, planFile)
		return err
	})
	return text, err
}

// planStart are the first lines terraform show prints of a plan with changes.
var planStart = []string{
	"Terraform used the selected providers to generate the following execution",
	"Note: Objects have changed outside of Terraform",
}

// renderingFromPlanOutput cuts `terraform plan -out`'s output (-no-color) down to what `terraform
// show` prints of the saved plan: without the refresh and read progress lines before it, and
// without what follows the plan (warnings, and outside automation the "Saved the plan to"
// trailer). ok is false when the output does not look like a plan's.
func renderingFromPlanOutput(out string) (string, bool) {
	out = "\n" + out
	start := -1
	for _, marker := range planStart {
		if i := strings.Index(out, "\n\n"+marker); i >= 0 && (start < 0 || i < start) {
			start = i + 1 // show starts with the blank line before the marker
		}
	}
	if start < 0 {
		return "", false
	}
	body := out[start:]
	summary := strings.LastIndex(body, "\nPlan: ")
	if summary < 0 {
		return "", false
	}
	end := len(body)
	for _, trailer := range []string{"\n─", "\n╷"} {
		if i := strings.Index(body[summary:], trailer); i >= 0 && summary+i < end {
			end = summary + i
		}
	}
	return strings.TrimRight(body[:end], "\n") + "\n", true
}
