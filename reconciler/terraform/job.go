package terraform

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path"
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
	dataDir  string     // TF_DATA_DIR
	runDir   string     // the run's own HOME and TMPDIR, removed by close
	checkout checkoutFS // the checkout, read safely (trueup never trusts a file there)
	private  string     // the sandbox wrapper, outside anything the run can write; removed by close
	tf       *tfexec.Terraform
	env      map[string]string // Terraform's environment; holds credentials, never logged
	stdout   bytes.Buffer
	stderr   bytes.Buffer
	spent    time.Duration
}

// newJob prepares one run. The caller must close the job.
func (r *Runner) newJob(spec reconciler.RunSpec) (*job, error) {
	j, err := r.prepareJob(spec)
	if err != nil {
		if j != nil {
			j.close()
		}
		return nil, reconciler.Errorf(reconciler.KindFailed, "init", fmt.Errorf("%s: %w", spec.Stack.Name, err))
	}
	return j, nil
}

func (r *Runner) prepareJob(spec reconciler.RunSpec) (*job, error) {
	if spec.Workdir == "" || spec.DataDir == "" {
		return nil, fmt.Errorf("run spec needs Workdir and DataDir")
	}
	j := &job{r: r, spec: spec, stackDir: filepath.Join(spec.Workdir, filepath.FromSlash(spec.Stack.Dir)), dataDir: filepath.Join(spec.DataDir, "tfdata")}
	if err := os.MkdirAll(spec.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	if spec.Untrusted {
		if err := dropPlanted(spec.DataDir); err != nil {
			return nil, fmt.Errorf("data dir: %w", err)
		}
	}
	co, err := openCheckout(spec.Workdir)
	if err != nil {
		return nil, fmt.Errorf("checkout: %w", err)
	}
	j.checkout = co
	// Not under DataDir: providers listen on unix sockets in TMPDIR, whose paths must stay short.
	runDir, err := os.MkdirTemp("", "trueup-run-")
	if err != nil {
		return nil, fmt.Errorf("run dir: %w", err)
	}
	j.runDir = runDir
	home, tmp := filepath.Join(runDir, "home"), filepath.Join(runDir, "tmp")
	for _, d := range []string{home, tmp} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return j, fmt.Errorf("run dir: %w", err)
		}
	}
	pass := r.opts.PassEnv.Main
	if spec.Untrusted {
		pass = r.opts.PassEnv.Plans
	}
	env, err := r.buildEnv(home, tmp, pass, spec.Env)
	if err != nil {
		return j, err
	}
	env["TF_DATA_DIR"] = j.dataDir
	j.env = env
	execPath := r.binary
	if spec.Untrusted && r.opts.Sandbox != nil {
		if execPath, err = j.sandboxWrapper(); err != nil {
			return j, fmt.Errorf("sandbox: %w", err)
		}
	}
	tf, err := tfexec.NewTerraform(j.stackDir, execPath)
	if err != nil {
		return j, err
	}
	if err := tf.SetEnv(env); err != nil {
		return j, err
	}
	tf.SetStdout(&j.stdout)
	tf.SetStderr(&j.stderr)
	j.tf = tf
	return j, nil
}

// sandboxWrapper writes the script that runs this job's Terraform calls in the sandbox, in a
// directory of its own that the sandbox never sees, and returns its path.
func (j *job) sandboxWrapper() (string, error) {
	dir, err := os.MkdirTemp("", "trueup-sandbox-")
	if err != nil {
		return "", err
	}
	j.private = dir
	paths := sandboxPaths{
		readOnly: append(append([]string{j.r.binary, j.r.cliConfig, j.r.opts.PluginCacheDir, os.Getenv("SSL_CERT_FILE"), os.Getenv("SSL_CERT_DIR")},
			cliConfigReadPaths(j.r.cliConfig)...), j.r.opts.SandboxReadOnly...),
		readWrite: []string{j.spec.Workdir, j.spec.DataDir, j.runDir},
		private:   j.r.opts.Private,
	}
	if from, to, ok := j.stateMount(); ok {
		paths.mounts = []mount{{from: from, to: to}}
	}
	path := filepath.Join(dir, "terraform")
	return path, j.r.opts.Sandbox.writeWrapper(path, j.r.binary, paths)
}

// stateMount is where a sandboxed run's copy of its stack's local state lives (from, in its data
// dir) and where the sandbox shows it (to, the directory of the real state): the run's backend
// arguments, and so its TF data dir and init fingerprint, are then the applied branch's, which
// lets it start from the applied branch's data dir (RunSpec.SeedDataDir). ok is false for runs
// outside the sandbox, which read their copy at its own path.
func (j *job) stateMount() (from, to string, ok bool) {
	if !j.spec.Untrusted || j.r.opts.Sandbox == nil || j.spec.StatePath == "" {
		return "", "", false
	}
	statePath, err := filepath.Abs(j.spec.StatePath)
	if err != nil {
		return "", "", false
	}
	dataDir, err := filepath.Abs(j.spec.DataDir)
	if err != nil {
		return "", "", false
	}
	return filepath.Join(dataDir, "state"), filepath.Dir(statePath), true
}

// stackRel is the stack's directory relative to the checkout.
func (j *job) stackRel() string { return filepath.FromSlash(path.Clean(j.spec.Stack.Dir)) }

// dropPlanted removes what an earlier untrusted run may have left at the top of its data dir in
// place of the files and directories trueup itself uses there: anything that is not a regular file
// or a plain directory (a symlink to another stack's data, a FIFO that would block trueup).
func dropPlanted(dataDir string) error {
	entries, err := os.ReadDir(dataDir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Type().IsRegular() || e.Type().IsDir() {
			continue
		}
		if err := os.Remove(filepath.Join(dataDir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// close removes the run's HOME, TMPDIR and sandbox wrapper.
func (j *job) close() {
	j.checkout.close()
	for _, d := range []string{j.runDir, j.private} {
		if d == "" {
			continue
		}
		if err := os.RemoveAll(d); err != nil {
			j.r.log.Warn("remove run directory", "stack", j.spec.Stack.Name, "dir", d, "err", err)
		}
	}
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
	j.r.log.DebugContext(ctx, "terraform", "stack", j.spec.Stack.Name, "op", op, "duration", d.Round(time.Millisecond), "ok", err == nil, "sandboxed", j.private != "")
	if err == nil {
		return nil
	}
	out := j.stderr.String()
	if out == "" {
		out = j.stdout.String() // some failures (a plan file that cannot be read) only print there
	}
	return classify(ctx, op, j.spec.Stack.Name, err, out)
}
