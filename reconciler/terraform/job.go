package terraform

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/terraform-exec/tfexec"

	"github.com/trueup/trueup/reconciler"
)

// job is one run of one stack. It owns its *tfexec.Terraform, which is not safe to share, and
// the buffers that capture Terraform's output (SetStdout and SetStderr are sticky, so the
// buffers are reset before every call rather than replaced).
type job struct {
	r        *Runner
	spec     reconciler.RunSpec
	stackDir string
	dataDir  string // TF_DATA_DIR
	tf       *tfexec.Terraform
	env      map[string]string // Terraform's environment; holds credentials, never logged
	stdout   bytes.Buffer
	stderr   bytes.Buffer
	spent    time.Duration
}

func (r *Runner) newJob(spec reconciler.RunSpec) (*job, error) {
	if spec.Workdir == "" || spec.DataDir == "" {
		return nil, reconciler.Errorf(reconciler.KindFailed, "init", fmt.Errorf("%s: run spec needs Workdir and DataDir", spec.Stack.Name))
	}
	stackDir := filepath.Join(spec.Workdir, filepath.FromSlash(spec.Stack.Dir))
	if err := os.MkdirAll(spec.DataDir, 0o755); err != nil {
		return nil, reconciler.Errorf(reconciler.KindFailed, "init", fmt.Errorf("%s: data dir: %w", spec.Stack.Name, err))
	}
	tf, err := tfexec.NewTerraform(stackDir, r.binary)
	if err != nil {
		return nil, reconciler.Errorf(reconciler.KindFailed, "init", fmt.Errorf("%s: %w", spec.Stack.Name, err))
	}
	j := &job{r: r, spec: spec, stackDir: stackDir, dataDir: filepath.Join(spec.DataDir, "tfdata"), tf: tf}
	env, err := r.baseEnv()
	if err == nil {
		env["TF_DATA_DIR"] = j.dataDir
		err = addEnv(env, spec.Env, "RunSpec.Env")
	}
	if err == nil {
		j.env = env
		err = tf.SetEnv(env)
	}
	if err != nil {
		return nil, reconciler.Errorf(reconciler.KindFailed, "init", fmt.Errorf("%s: %w", spec.Stack.Name, err))
	}
	tf.SetStdout(&j.stdout)
	tf.SetStderr(&j.stderr)
	return j, nil
}

// call runs one Terraform command, times it, logs it and turns its failure into a *reconciler.Error
// that carries Terraform's own error text.
func (j *job) call(ctx context.Context, op string, fn func(ctx context.Context) error) error {
	j.stdout.Reset()
	j.stderr.Reset()
	start := time.Now()
	err := fn(ctx)
	d := time.Since(start)
	j.spent += d
	j.r.log.DebugContext(ctx, "terraform", "stack", j.spec.Stack.Name, "op", op, "duration", d.Round(time.Millisecond), "ok", err == nil)
	if err == nil {
		return nil
	}
	out := j.stderr.String()
	if out == "" {
		out = j.stdout.String() // some failures (a plan file that cannot be read) only print there
	}
	return classify(ctx, op, j.spec.Stack.Name, err, out)
}
