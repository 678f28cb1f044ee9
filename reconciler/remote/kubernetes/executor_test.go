package kubernetes_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/trueup/trueup/reconciler/remote"
	"github.com/trueup/trueup/reconciler/remote/kubernetes"
	"github.com/trueup/trueup/reconciler/remote/kubernetes/kubetest"
)

func launch(purpose remote.Purpose) remote.Launch {
	id := runID()
	return remote.Launch{RunID: id, URL: "http://trueup.trueup.svc:8080", Token: "tok-" + runID(), Purpose: purpose, Stack: "stacks/app",
		Meta: map[string]string{remote.MetaPrefix + "key": "stacks/app", remote.MetaPrefix + "purpose": string(purpose)}}
}

func TestTheJobHoldsNoTokenAndAnIdentityPerPurpose(t *testing.T) {
	cl := newCluster(t)
	ex := cl.executor(t, func(o *kubernetes.Options) {
		o.Env = map[string]string{"TRUEUP_RUNNER_TERRAFORM": "/usr/local/bin/terraform", remote.EnvRunToken: "not-this"}
		o.Resources = corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("512Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("2Gi")},
		}
	})
	for purpose, sa := range map[remote.Purpose]string{remote.PurposePlan: "trueup-plan", remote.PurposeApply: "trueup-apply"} {
		t.Run(string(purpose), func(t *testing.T) {
			l := launch(purpose)
			_, err := ex.Start(context.Background(), l)
			require.NoError(t, err)
			job := cl.job(t, "trueup-run-"+l.RunID)

			whole, err := json.Marshal(job)
			require.NoError(t, err)
			assert.NotContains(t, string(whole), l.Token, "the token is nowhere in the Job")
			sec := cl.secret(t, job.Name)
			require.NotNil(t, sec)
			assert.Equal(t, l.Token, string(sec.Data["token"]), "the token is in the run's Secret")
			require.Len(t, sec.OwnerReferences, 1)
			assert.Equal(t, job.UID, sec.OwnerReferences[0].UID, "the Job owns the Secret: the cluster removes it with the Job")
			assert.True(t, *sec.Immutable)

			labels := map[string]string{"app.kubernetes.io/managed-by": "trueup", "trueup.dev/run-id": l.RunID, "trueup.dev/purpose": string(purpose)}
			for k, v := range labels {
				assert.Equal(t, v, job.Labels[k])
				assert.Equal(t, v, job.Spec.Template.Labels[k])
				assert.Equal(t, v, sec.Labels[k])
			}
			assert.Equal(t, l.Meta, job.Annotations, "Launch.Meta is the Job's annotations")

			assertRunnerPod(t, job, l, sa)
		})
	}
}

// assertRunnerPod checks the Job's limits and its pod: identity, security, command, environment
// (the token's file, not the token), resources and volumes.
func assertRunnerPod(t *testing.T, job *batchv1.Job, l remote.Launch, sa string) {
	assert.Equal(t, int32(0), *job.Spec.BackoffLimit)
	assert.Equal(t, int64(7200), *job.Spec.ActiveDeadlineSeconds)
	assert.Equal(t, int32(3600), *job.Spec.TTLSecondsAfterFinished)
	pod := job.Spec.Template.Spec
	assert.Equal(t, corev1.RestartPolicyNever, pod.RestartPolicy)
	assert.Equal(t, sa, pod.ServiceAccountName, "a service account per purpose")
	assert.False(t, *pod.AutomountServiceAccountToken, "runners get no Kubernetes API credentials")
	assert.False(t, *pod.EnableServiceLinks)
	assert.True(t, *pod.SecurityContext.RunAsNonRoot)
	assert.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, pod.SecurityContext.SeccompProfile.Type)

	require.Len(t, pod.Containers, 1)
	c := pod.Containers[0]
	assert.Equal(t, "trueup", c.Name)
	assert.Equal(t, "ghcr.io/acme/trueup:1.4.0", c.Image)
	assert.Equal(t, []string{"trueup"}, c.Command)
	assert.Equal(t, []string{"runner"}, c.Args)
	assert.False(t, *c.SecurityContext.AllowPrivilegeEscalation)
	assert.Equal(t, []corev1.Capability{"ALL"}, c.SecurityContext.Capabilities.Drop)
	assert.Equal(t, "500m", ptr.To(c.Resources.Requests[corev1.ResourceCPU]).String())
	assert.Equal(t, "512Mi", ptr.To(c.Resources.Requests[corev1.ResourceMemory]).String())
	assert.Equal(t, "2Gi", ptr.To(c.Resources.Limits[corev1.ResourceMemory]).String())
	assert.Equal(t, []corev1.EnvVar{
		{Name: "TMPDIR", Value: "/tmp"},
		{Name: "TRUEUP_CONTROL_URL", Value: l.URL},
		{Name: "TRUEUP_RUNNER_TERRAFORM", Value: "/usr/local/bin/terraform"},
		{Name: "TRUEUP_RUN_ID", Value: l.RunID},
		{Name: "TRUEUP_RUN_TOKEN_FILE", Value: "/var/run/trueup/token"},
	}, c.Env)
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m.Name
	}
	assert.Equal(t, map[string]string{"/tmp": "tmp", "/var/run/trueup": "run-token"}, mounts)
	for _, v := range pod.Volumes {
		switch v.Name {
		case "tmp":
			assert.NotNil(t, v.EmptyDir)
		case "run-token":
			require.NotNil(t, v.Secret)
			assert.Equal(t, job.Name, v.Secret.SecretName)
		}
	}
}

func TestAStartRetriedWithTheSameRunIdCreatesOneJob(t *testing.T) {
	cl := newCluster(t)
	ex := cl.executor(t)
	l := launch(remote.PurposePlan)
	_, err := ex.Start(context.Background(), l)
	require.NoError(t, err)
	_, err = ex.Start(context.Background(), l)
	require.NoError(t, err, "the Job there is this run's")
	assert.Len(t, cl.jobs(t), 1)

	other := l
	other.Purpose = remote.PurposeApply
	_, err = ex.Start(context.Background(), other)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "exists and is not run "+l.RunID+"'s apply")

	forged := l
	forged.Token = "another-token"
	_, err = ex.Start(context.Background(), forged)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "does not hold run "+l.RunID+"'s token")
	assert.NotContains(t, err.Error(), l.Token)
	assert.Len(t, cl.jobs(t), 1)
}

func TestStartRefusesWhatWouldNotBeARunsJob(t *testing.T) {
	ex := newCluster(t).executor(t)
	for _, tt := range []struct {
		name string
		l    remote.Launch
		want string
	}{
		{"a short run id", remote.Launch{RunID: "abc", Token: "t", Purpose: remote.PurposePlan}, "a run id is 32 lower-case hex characters"},
		{"a run id that is no DNS label", remote.Launch{RunID: "0123456789ABCDEF0123456789abcdef", Token: "t", Purpose: remote.PurposePlan}, "a run id is 32"},
		{"an unknown purpose", remote.Launch{RunID: runID(), Token: "t", Purpose: "destroy"}, `unknown purpose "destroy"`},
		{"no token", remote.Launch{RunID: runID(), Purpose: remote.PurposePlan}, "no run token"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ex.Start(context.Background(), tt.l)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// A Job trueup did not make is never listed, adopted or deleted: one without trueup's label, one
// whose run-id label names another run than its name, one named like a run by someone else.
func TestInFlightListsTheRunningJobsOfTrueupOnly(t *testing.T) {
	cl := newCluster(t)
	ex := cl.executor(t)
	ctx := context.Background()
	running, finished := launch(remote.PurposePlan), launch(remote.PurposeApply)
	for _, l := range []remote.Launch{running, finished} {
		_, err := ex.Start(ctx, l)
		require.NoError(t, err)
	}
	require.NoError(t, kubetest.EndJob(ctx, cl.c, cl.job(t, "trueup-run-"+finished.RunID), true))

	impostor := runID()
	foreign := []*batchv1.Job{
		foreignJob("nightly-backup", nil),
		foreignJob("trueup-run-"+runID(), map[string]string{"trueup.dev/run-id": impostor, "trueup.dev/purpose": "plan"}),
		foreignJob("trueup-run-"+impostor, map[string]string{"app.kubernetes.io/managed-by": "trueup", "trueup.dev/run-id": runID(), "trueup.dev/purpose": "plan"}),
		foreignJob("backup-"+impostor, map[string]string{"app.kubernetes.io/managed-by": "trueup", "trueup.dev/run-id": impostor, "trueup.dev/purpose": "plan"}),
		foreignJob("trueup-run-"+impostor[:31]+"x", map[string]string{"app.kubernetes.io/managed-by": "trueup", "trueup.dev/run-id": impostor[:31] + "x", "trueup.dev/purpose": "plan"}),
	}
	for _, j := range foreign {
		_, err := cl.c.BatchV1().Jobs(cl.ns).Create(ctx, j, metav1.CreateOptions{})
		require.NoError(t, err)
	}

	found, err := ex.InFlight(ctx)
	require.NoError(t, err)
	require.Len(t, found, 1, "only the running Job of trueup's own")
	assert.Equal(t, running.RunID, found[0].RunID)
	assert.Equal(t, running.Meta, found[0].Meta)
	require.NotNil(t, found[0].Task)

	require.NoError(t, found[0].Task.Stop(ctx, "test"))
	assert.True(t, cl.gone(t, "trueup-run-"+running.RunID), "the adopted task stops its Job")
	for _, j := range foreign {
		cl.job(t, j.Name) // still there
	}
}

// foreignJob is a Job someone else made in trueup's namespace.
func foreignJob(name string, labels map[string]string) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, Annotations: map[string]string{remote.MetaPrefix + "key": "stolen"}},
		Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers:    []corev1.Container{{Name: "main", Image: "busybox"}},
		}}},
	}
}

func TestAJobDeletedFromUnderWaitIsGone(t *testing.T) {
	cl := newCluster(t)
	ex := cl.executor(t)
	l := launch(remote.PurposePlan)
	task, err := ex.Start(context.Background(), l)
	require.NoError(t, err)
	ctx := context.Background()
	require.NoError(t, cl.c.BatchV1().Jobs(cl.ns).Delete(ctx, "trueup-run-"+l.RunID, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationBackground)}))
	err = task.Wait(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "kubernetes job "+cl.ns+"/trueup-run-"+l.RunID+" is gone")

	// Deleted with the API's default for Jobs (orphan), it stays until a garbage collector has
	// orphaned its pods: being deleted is gone too.
	l = launch(remote.PurposePlan)
	task, err = ex.Start(ctx, l)
	require.NoError(t, err)
	require.NoError(t, cl.c.BatchV1().Jobs(cl.ns).Delete(ctx, "trueup-run-"+l.RunID, metav1.DeleteOptions{PropagationPolicy: ptr.To(metav1.DeletePropagationOrphan)}))
	err = task.Wait(ctx)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "kubernetes job "+cl.ns+"/trueup-run-"+l.RunID+" is gone (being deleted)")
}

func TestStopIsIdempotent(t *testing.T) {
	cl := newCluster(t)
	ex := cl.executor(t)
	l := launch(remote.PurposeApply)
	task, err := ex.Start(context.Background(), l)
	require.NoError(t, err)
	require.NoError(t, task.Stop(context.Background(), "canceled"))
	assert.True(t, cl.gone(t, "trueup-run-"+l.RunID))
	require.NoError(t, task.Stop(context.Background(), "canceled"), "stopping what is gone is fine")
	err = task.Wait(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is gone")
}

// The namespace enforces Pod Security "restricted": a runner's pod made from the Job is admitted,
// and the same pod made privileged is not (so the check is real).
func TestTheRunnersPodPassesPodSecurityRestricted(t *testing.T) {
	cl := newCluster(t)
	l := launch(remote.PurposePlan)
	_, err := cl.executor(t).Start(context.Background(), l)
	require.NoError(t, err)
	job := cl.job(t, "trueup-run-"+l.RunID)
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: job.Name + "-"}, Spec: job.Spec.Template.Spec}
	_, err = cl.c.CoreV1().Pods(cl.ns).Create(context.Background(), pod, metav1.CreateOptions{})
	require.NoError(t, err)

	pod.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = ptr.To(true)
	_, err = cl.c.CoreV1().Pods(cl.ns).Create(context.Background(), pod, metav1.CreateOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "violates PodSecurity \"restricted")
}

// flaky fails every request while down is set, counting them, and holds every request while hang
// is set until its context ends.
type flaky struct {
	next   http.RoundTripper
	down   atomic.Bool
	hang   atomic.Bool
	failed atomic.Int64
}

func (f *flaky) RoundTrip(r *http.Request) (*http.Response, error) {
	if f.hang.Load() {
		<-r.Context().Done()
		return nil, r.Context().Err()
	}
	if f.down.Load() {
		f.failed.Add(1)
		return nil, errors.New("connection refused (flaky)")
	}
	return f.next.RoundTrip(r)
}

// flakyExecutor is an executor in cl's namespace whose API is api.
func flakyExecutor(t *testing.T, cl cluster, api *flaky, mod ...func(*kubernetes.Options)) *kubernetes.Executor {
	cfg := kubetest.Start(t)
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { api.next = rt; return api }
	opts := kubernetes.Options{Namespace: cl.ns, Image: "trueup:1",
		ServiceAccounts: map[remote.Purpose]string{remote.PurposePlan: "trueup-plan", remote.PurposeApply: "trueup-apply"},
		PollInterval:    20 * time.Millisecond}
	for _, m := range mod {
		m(&opts)
	}
	ex, err := kubernetes.New(kubetest.Client(t, cfg), opts)
	require.NoError(t, err)
	return ex
}

// Every call has a deadline of its own: an API server that holds a call does not hold Start.
func TestACallTheAPIHoldsEndsAtItsDeadline(t *testing.T) {
	cl := newCluster(t)
	api := &flaky{}
	ex := flakyExecutor(t, cl, api, func(o *kubernetes.Options) { o.CallTimeout = 200 * time.Millisecond })
	api.hang.Store(true)
	_, err := ex.Start(context.Background(), launch(remote.PurposePlan))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "kubernetes create job "+cl.ns+"/trueup-run-")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}

// An API server that cannot be reached for a while does not end Wait: it reads on, and sees the
// Job's end once it can.
func TestWaitOutlivesAnUnreachableAPI(t *testing.T) {
	cl := newCluster(t)
	api := &flaky{}
	ex := flakyExecutor(t, cl, api)
	l := launch(remote.PurposePlan)
	task, err := ex.Start(context.Background(), l)
	require.NoError(t, err)

	api.down.Store(true)
	done := make(chan error, 1)
	go func() { done <- task.Wait(context.Background()) }()
	require.Eventually(t, func() bool { return api.failed.Load() >= 5 }, time.Minute, 10*time.Millisecond)
	require.NoError(t, kubetest.EndJob(context.Background(), cl.c, cl.job(t, "trueup-run-"+l.RunID), true))
	select {
	case err := <-done:
		t.Fatalf("Wait ended while the API was unreachable: %v", err)
	default:
	}
	api.down.Store(false)
	require.NoError(t, <-done, "the Job completed")
	assert.Nil(t, cl.secret(t, "trueup-run-"+l.RunID), "the finished run's Secret is deleted")
}
