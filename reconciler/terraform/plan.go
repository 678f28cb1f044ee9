package terraform

import (
	"context"
	"fmt"
	"path/filepath"

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
// reported. Rendered is filled (terraform show) only when spec.Render is set and there are changes.
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
			err = j.call(ctx, "show", func(ctx context.Context) (err error) {
				plan.Rendered, err = j.tf.ShowPlanFileRaw(ctx, planFile)
				return err
			})
			if err != nil {
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
