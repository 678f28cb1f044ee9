package kubernetes_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	batchv1 "k8s.io/api/batch/v1"

	"github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/remote"
	"github.com/trueup/trueup/reconciler/remote/kubernetes"
	"github.com/trueup/trueup/reconciler/remote/kubernetes/kubetest"
	"github.com/trueup/trueup/reconciler/terraform/tftest"
)

// localStack is a stack writing content to out/app.txt with the hashicorp/local provider, its state
// at an absolute path (runners share no data dir with trueup, but this one shares the machine).
func localStack(t *testing.T, out, content string) reconciler.RunSpec {
	work := t.TempDir()
	tf := fmt.Sprintf(`terraform {
  backend "local" {
    path = %q
  }
}

resource "local_file" "app" {
  filename = %q
  content  = %q
}
`, filepath.Join(out, "app.tfstate"), filepath.Join(out, "app.txt"), content)
	require.NoError(t, os.WriteFile(filepath.Join(work, "main.tf"), []byte(tf), 0o644))
	return reconciler.RunSpec{Stack: reconciler.Stack{Name: "app", Dir: ".", Workspace: "default"}, Workdir: work, DataDir: t.TempDir()}
}

// withTerraform gives runners this machine's Terraform, as a runner image would have it.
func withTerraform(t *testing.T) func(*kubernetes.Options) {
	bin, rc := tftest.Tools(t)
	return func(o *kubernetes.Options) {
		o.Env = map[string]string{"TRUEUP_RUNNER_TERRAFORM": bin, "TF_CLI_CONFIG_FILE": rc}
	}
}

// A plan and an apply each run in a Job of their own, played by the real `trueup runner`; the apply
// applies the plan's file (the stack changed since, and the apply still writes what was planned).
func TestPlanAndApplyInKubernetesJobs(t *testing.T) {
	cl := newCluster(t)
	ex := cl.executor(t, withTerraform(t))
	k := cl.kubelet(t, kubetest.Binary(kubetest.Trueup(t)))
	r := newRunner(t, ex)
	out := t.TempDir()
	spec := localStack(t, out, "v1")
	ctx := context.Background()

	plan, err := r.Plan(ctx, spec)
	require.NoError(t, err)
	assert.Equal(t, []reconciler.ResourceChange{{Address: "local_file.app", Action: reconciler.ActionCreate}}, plan.Changes)
	assert.True(t, plan.Complete)

	changed := localStack(t, out, "v2")
	require.NoError(t, os.Rename(filepath.Join(changed.Workdir, "main.tf"), filepath.Join(spec.Workdir, "main.tf")))
	_, err = r.Apply(ctx, spec, plan)
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(out, "app.txt"))
	require.NoError(t, err)
	assert.Equal(t, "v1", string(got), "the plan's file was applied")

	require.Eventually(t, func() bool { return len(k.Ended()) == 2 }, time.Minute, 20*time.Millisecond,
		"the runners exit by themselves after their results")
	jobs := cl.jobs(t)
	require.Len(t, jobs, 2)
	purposes := map[string]string{}
	for _, j := range jobs {
		purposes[j.Labels["trueup.dev/purpose"]] = j.Spec.Template.Spec.ServiceAccountName
		exit, ok := k.Ended()[j.Name]
		require.True(t, ok, "job %s ran", j.Name)
		assert.Zero(t, exit.Code, "runner output: %s", exit.Message)
	}
	assert.Equal(t, map[string]string{"plan": "trueup-plan", "apply": "trueup-apply"}, purposes)
	require.Eventually(t, func() bool {
		for _, j := range cl.jobs(t) {
			if cl.secret(t, j.Name) != nil {
				return false
			}
		}
		return true
	}, time.Minute, 50*time.Millisecond, "the Secrets of finished Jobs are deleted")
}

// A pod killed for its memory fails the run as transient, naming why.
func TestAnOOMKilledPodFailsTheRunWithItsReason(t *testing.T) {
	cl := newCluster(t)
	cl.kubelet(t, func(ctx context.Context, c kubetest.Container) kubetest.Exit {
		cli := &remote.Client{URL: c.Env[remote.EnvControlURL], RunID: c.Env[remote.EnvRunID], Token: tokenOf(c)}
		if _, err := cli.Job(ctx); err != nil {
			return kubetest.Exit{Code: 1, Reason: "Error", Message: err.Error()}
		}
		return kubetest.Exit{Code: 137, Reason: "OOMKilled"}
	})
	_, err := newRunner(t, cl.executor(t)).Plan(context.Background(), emptySpec(t))
	require.Error(t, err)
	assert.Equal(t, reconciler.KindTransient, reconciler.KindOf(err))
	assert.Contains(t, err.Error(), "the runner ended without a result")
	assert.Contains(t, err.Error(), "BackoffLimitExceeded")
	assert.Contains(t, err.Error(), "container trueup: OOMKilled, exit 137")
}

// A Job whose pod never runs fails the run after the start timeout, and is deleted with its Secret.
func TestAJobThatNeverStartsIsDeleted(t *testing.T) {
	cl := newCluster(t)
	cl.kubelet(t, nil) // pods stay pending
	r := newRunner(t, cl.executor(t), func(o *remote.Options) { o.StartTimeout = time.Second })
	_, err := r.Plan(context.Background(), emptySpec(t))
	require.Error(t, err)
	assert.Equal(t, reconciler.KindTransient, reconciler.KindOf(err))
	assert.Contains(t, err.Error(), "the runner did not start")
	require.Eventually(t, func() bool { return len(cl.leftovers(t)) == 0 }, time.Minute, 20*time.Millisecond,
		"the Job, its pod and its Secret are deleted")
}

// A pod whose image cannot be pulled ends the run at once with the reason, long before the start
// timeout (here 10 minutes: the test would time out first).
func TestAnImagePullErrorEndsTheRunWithItsReason(t *testing.T) {
	for _, reason := range []string{"ErrImagePull", "ImagePullBackOff", "CreateContainerConfigError"} {
		t.Run(reason, func(t *testing.T) {
			cl := newCluster(t)
			k := &kubetest.Kubelet{Client: cl.c, Namespace: cl.ns, Waiting: func(*batchv1.Job) string { return reason },
				Run: func(context.Context, kubetest.Container) kubetest.Exit { panic("never runs") }}
			k.Start(t)
			r := newRunner(t, cl.executor(t), func(o *remote.Options) { o.StartTimeout = 10 * time.Minute })
			_, err := r.Plan(context.Background(), emptySpec(t))
			require.Error(t, err)
			assert.Equal(t, reconciler.KindTransient, reconciler.KindOf(err))
			assert.Contains(t, err.Error(), "cannot start its runner: pod trueup-run-")
			assert.Contains(t, err.Error(), "container trueup waiting: "+reason)
			require.Eventually(t, func() bool { return len(cl.leftovers(t)) == 0 }, time.Minute, 20*time.Millisecond,
				"the Job, its pod and its Secret are deleted")
		})
	}
}

// A run canceled while its runner works deletes the Job, its pod (the runner gets SIGTERM) and its
// Secret.
func TestCancelDeletesTheJob(t *testing.T) {
	cl := newCluster(t)
	fetched, stopped := make(chan string, 1), make(chan struct{})
	cl.kubelet(t, func(ctx context.Context, c kubetest.Container) kubetest.Exit {
		cli := &remote.Client{URL: c.Env[remote.EnvControlURL], RunID: c.Env[remote.EnvRunID], Token: tokenOf(c)}
		job, err := cli.Job(ctx)
		if err != nil {
			return kubetest.Exit{Code: 1, Reason: "Error", Message: err.Error()}
		}
		fetched <- job.RunID
		<-ctx.Done() // the pod is deleted
		close(stopped)
		return kubetest.Exit{Code: 143, Reason: "Error"}
	})
	r := newRunner(t, cl.executor(t))
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := r.Plan(ctx, emptySpec(t)); errc <- err }()
	var id string
	select {
	case id = <-fetched: // the token file worked: the runner fetched its job
	case err := <-errc:
		t.Fatalf("the run ended before its runner fetched its job: %v", err)
	}
	cancel()
	err := <-errc
	require.Error(t, err)
	assert.Equal(t, reconciler.KindCanceled, reconciler.KindOf(err))
	assert.Contains(t, err.Error(), "runner stopped: context canceled")
	<-stopped // the runner's pod was deleted
	require.Eventually(t, func() bool { return cl.gone(t, "trueup-run-"+id) }, time.Minute, 20*time.Millisecond,
		"the Job, its pod and its Secret are deleted")
}
