package kubetest

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	clientset "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

// Container is a Job's container as the Kubelet runs it.
type Container struct {
	Job *batchv1.Job
	// Command is the container's command, then its args.
	Command []string
	// Env is the container's environment, its values naming a mount path mapped to the local
	// directory standing for that mount (a Secret's files, an emptyDir).
	Env map[string]string
	// Mounts maps each mount path to its local directory.
	Mounts map[string]string
}

// Exit is how a container ended.
type Exit struct {
	Code int32
	// Reason is the kubelet's (Completed, Error, OOMKilled).
	Reason string
	// Message is the termination message.
	Message string
}

// Kubelet plays the job controller and the kubelet for the Jobs of one namespace that carry the
// label app.kubernetes.io/managed-by=trueup: for each new Job it creates a pod owned by it, runs
// the pod's first container with Run, and writes the pod's and the Job's status as a cluster
// would (Running, then Complete or Failed with the container's exit). A pod deleted while its
// container runs cancels Run's ctx.
type Kubelet struct {
	Client    clientset.Interface
	Namespace string
	// Run runs a container; nil leaves every pod pending (ContainerCreating) forever.
	Run func(ctx context.Context, c Container) Exit
	// Waiting returns the reason a Job's container waits for forever instead of running
	// (ErrImagePull...), or "" to run it; nil runs every container.
	Waiting func(job *batchv1.Job) string

	mu    sync.Mutex
	seen  map[types.UID]bool
	ended map[string]Exit // by Job name
	dirs  []string        // the volumes' directories
}

// Start plays the Jobs until t ends.
func (k *Kubelet) Start(t testing.TB) {
	t.Helper()
	k.seen, k.ended = map[types.UID]bool{}, map[string]Exit{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		for _, d := range k.dirs {
			_ = os.RemoveAll(d)
		}
	})
	wg.Go(func() {
		for ctx.Err() == nil {
			list, err := k.Client.BatchV1().Jobs(k.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=trueup"})
			if err == nil {
				for i := range list.Items {
					job := &list.Items[i]
					if k.claim(job) {
						wg.Go(func() {
							if err := k.play(ctx, job); err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
								t.Errorf("kubetest: job %s: %v", job.Name, err)
							}
						})
					}
				}
			}
			sleep(ctx, 20*time.Millisecond)
		}
	})
}

// Ended returns how the container of each Job that ended did, by Job name.
func (k *Kubelet) Ended() map[string]Exit {
	k.mu.Lock()
	defer k.mu.Unlock()
	return maps.Clone(k.ended)
}

func (k *Kubelet) claim(job *batchv1.Job) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.seen[job.UID] || job.DeletionTimestamp != nil || len(job.Status.Conditions) > 0 {
		return false
	}
	k.seen[job.UID] = true
	return true
}

// play runs one Job's pod until it ends or is deleted.
func (k *Kubelet) play(ctx context.Context, job *batchv1.Job) error {
	pod, err := k.createPod(ctx, job)
	if apierrors.IsForbidden(err) {
		return nil // Pod Security refused it: the job controller records FailedCreate, and the Job stays
	}
	if err != nil {
		return err
	}
	// Like a kubelet, it ends the pod's container once the pod is being deleted, then removes it.
	podCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go k.watchDeletion(podCtx, pod, cancel)
	defer k.removePod(ctx, pod)

	now := metav1.Now()
	if err := jobStatus(ctx, k.Client, job, func(s *batchv1.JobStatus) { s.StartTime, s.Active, s.Ready = &now, 1, ptr.To[int32](0) }); err != nil {
		return err
	}
	container := pod.Spec.Containers[0]
	reason := "ContainerCreating"
	if k.Waiting != nil {
		if r := k.Waiting(job); r != "" {
			reason = r
		}
	}
	if err := k.podStatus(podCtx, pod, func(s *corev1.PodStatus) {
		s.Phase = corev1.PodPending
		s.ContainerStatuses = []corev1.ContainerStatus{{Name: container.Name, Image: container.Image,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: "kubetest: " + reason}}}}
	}); err != nil {
		return err
	}
	if k.Run == nil || reason != "ContainerCreating" {
		<-podCtx.Done()
		return nil
	}
	if err := k.runContainer(podCtx, job, pod); err != nil {
		return err
	}
	<-podCtx.Done() // until it is deleted
	return nil
}

// runContainer runs the pod's container and writes its end, unless the pod is deleted first.
func (k *Kubelet) runContainer(podCtx context.Context, job *batchv1.Job, pod *corev1.Pod) error {
	container := pod.Spec.Containers[0]
	c, err := k.mount(podCtx, pod)
	if err != nil {
		return err
	}
	if err := k.podStatus(podCtx, pod, func(s *corev1.PodStatus) {
		s.Phase = corev1.PodRunning
		s.ContainerStatuses = []corev1.ContainerStatus{{Name: container.Name, Image: container.Image, Ready: true, Started: ptr.To(true),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}}}
	}); err != nil {
		return err
	}
	if err := jobStatus(podCtx, k.Client, job, func(s *batchv1.JobStatus) { s.Ready = ptr.To[int32](1) }); err != nil {
		return err
	}
	c.Job = job
	exit := k.Run(podCtx, c)
	k.mu.Lock()
	k.ended[job.Name] = exit
	k.mu.Unlock()
	if podCtx.Err() != nil {
		return nil // deleted: no status to write
	}
	return k.finish(podCtx, job, pod, exit)
}

// watchDeletion cancels the pod's ctx once the pod is being deleted, or gone.
func (k *Kubelet) watchDeletion(ctx context.Context, pod *corev1.Pod, cancel context.CancelFunc) {
	for ctx.Err() == nil {
		p, err := k.Client.CoreV1().Pods(k.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) || (err == nil && (p.UID != pod.UID || p.DeletionTimestamp != nil)) {
			cancel()
			return
		}
		sleep(ctx, 20*time.Millisecond)
	}
}

// removePod removes a pod being deleted, as a kubelet does once its containers have ended.
func (k *Kubelet) removePod(ctx context.Context, pod *corev1.Pod) {
	p, err := k.Client.CoreV1().Pods(k.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
	if err != nil || p.UID != pod.UID || p.DeletionTimestamp == nil {
		return
	}
	_ = k.Client.CoreV1().Pods(k.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To[int64](0), Preconditions: &metav1.Preconditions{UID: &pod.UID}})
}

// finish writes the container's end to the pod and the Job, as a kubelet and the job controller
// would: Complete (SuccessCriteriaMet first) or Failed (FailureTarget first), unless they are gone.
func (k *Kubelet) finish(ctx context.Context, job *batchv1.Job, pod *corev1.Pod, exit Exit) error {
	container := pod.Spec.Containers[0]
	phase := corev1.PodSucceeded
	if exit.Code != 0 {
		phase = corev1.PodFailed
	}
	err := k.podStatus(ctx, pod, func(s *corev1.PodStatus) {
		s.Phase = phase
		s.ContainerStatuses = []corev1.ContainerStatus{{Name: container.Name, Image: container.Image, Started: ptr.To(false),
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: exit.Code, Reason: exit.Reason, Message: exit.Message, FinishedAt: metav1.Now()}}}}
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	err = EndJob(ctx, k.Client, job, exit.Code == 0)
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// createPod creates the Job's pod from its template, controlled by the Job.
func (k *Kubelet) createPod(ctx context.Context, job *batchv1.Job) (*corev1.Pod, error) {
	labels := map[string]string{}
	for key, v := range job.Spec.Template.Labels {
		labels[key] = v
	}
	labels["batch.kubernetes.io/job-name"] = job.Name
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: job.Name + "-", Namespace: job.Namespace, Labels: labels, Annotations: job.Spec.Template.Annotations,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID,
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}},
		},
		Spec: *job.Spec.Template.Spec.DeepCopy(),
	}
	pod.Spec.NodeName = "kubetest"
	created, err := k.Client.CoreV1().Pods(job.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("create pod: %w", err) // apierrors.IsForbidden sees through it
	}
	return created, nil
}

// mount makes the pod's volumes local directories (a Secret's keys as files, waiting for the
// Secret as a kubelet does; an emptyDir empty) and maps the container's environment onto them.
func (k *Kubelet) mount(ctx context.Context, pod *corev1.Pod) (Container, error) {
	ctr := pod.Spec.Containers[0]
	c := Container{Command: append(append([]string{}, ctr.Command...), ctr.Args...), Env: map[string]string{}, Mounts: map[string]string{}}
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Spec.Volumes {
		volumes[v.Name] = v
	}
	for _, m := range ctr.VolumeMounts {
		dir, err := os.MkdirTemp("", "kubetest-volume-")
		if err != nil {
			return c, err
		}
		k.mu.Lock()
		k.dirs = append(k.dirs, dir)
		k.mu.Unlock()
		if s := volumes[m.Name].Secret; s != nil {
			if err := k.writeSecret(ctx, s, dir); err != nil {
				return c, err
			}
		}
		c.Mounts[m.MountPath] = dir
	}
	for _, e := range ctr.Env {
		c.Env[e.Name] = c.local(e.Value)
	}
	return c, nil
}

// local maps a path in the container to the local one: under the longest mount path holding it.
// A path that exists on this machine is kept: it stands for the image's own files (the test's
// Terraform, say, which may well live under /tmp when the repository was cloned there).
func (c Container) local(p string) string {
	if _, err := os.Stat(p); err == nil && p != "/" {
		if _, mounted := c.Mounts[p]; !mounted {
			return p
		}
	}
	best := ""
	for path := range c.Mounts {
		if (p == path || strings.HasPrefix(p, path+"/")) && len(path) > len(best) {
			best = path
		}
	}
	if best == "" {
		return p
	}
	return c.Mounts[best] + strings.TrimPrefix(p, best)
}

// writeSecret waits for the Secret, then writes its items into dir.
func (k *Kubelet) writeSecret(ctx context.Context, s *corev1.SecretVolumeSource, dir string) error {
	for {
		sec, err := k.Client.CoreV1().Secrets(k.Namespace).Get(ctx, s.SecretName, metav1.GetOptions{})
		if err == nil {
			for _, item := range s.Items {
				if err := os.WriteFile(filepath.Join(dir, item.Path), sec.Data[item.Key], 0o400); err != nil {
					return err
				}
			}
			return nil
		}
		if !apierrors.IsNotFound(err) || ctx.Err() != nil {
			return fmt.Errorf("read secret %s: %w", s.SecretName, err)
		}
		sleep(ctx, 20*time.Millisecond)
	}
}

// EndJob writes a Job's end as the job controller does: Complete (after SuccessCriteriaMet) or
// Failed (after FailureTarget, reason BackoffLimitExceeded), with the times and counts the API
// server requires of a finished Job.
func EndJob(ctx context.Context, c clientset.Interface, job *batchv1.Job, succeeded bool) error {
	return jobStatus(ctx, c, job, func(s *batchv1.JobStatus) {
		now := metav1.Now()
		if s.StartTime == nil {
			s.StartTime = &now
		}
		s.Active, s.Ready = 0, ptr.To[int32](0)
		if succeeded {
			s.Succeeded, s.CompletionTime = 1, &now
			s.Conditions = append(s.Conditions,
				batchv1.JobCondition{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, Reason: "CompletionsReached", LastTransitionTime: now},
				batchv1.JobCondition{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, Reason: "CompletionsReached", LastTransitionTime: now})
			return
		}
		s.Failed = 1
		msg := "Job has reached the specified backoff limit"
		s.Conditions = append(s.Conditions,
			batchv1.JobCondition{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: msg, LastTransitionTime: now},
			batchv1.JobCondition{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: msg, LastTransitionTime: now})
	})
}

// jobStatus changes the Job's status, retrying on conflicts.
func jobStatus(ctx context.Context, c clientset.Interface, job *batchv1.Job, change func(*batchv1.JobStatus)) error {
	jobs := c.BatchV1().Jobs(job.Namespace)
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := jobs.Get(ctx, job.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cur.UID != job.UID {
			return apierrors.NewNotFound(batchv1.Resource("jobs"), job.Name)
		}
		change(&cur.Status)
		if _, err := jobs.UpdateStatus(ctx, cur, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("update job status: %w", err)
		}
		return nil
	})
}

// podStatus changes the pod's status, retrying on conflicts.
func (k *Kubelet) podStatus(ctx context.Context, pod *corev1.Pod, change func(*corev1.PodStatus)) error {
	pods := k.Client.CoreV1().Pods(pod.Namespace)
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if cur.UID != pod.UID {
			return apierrors.NewNotFound(corev1.Resource("pods"), pod.Name)
		}
		change(&cur.Status)
		if _, err := pods.UpdateStatus(ctx, cur, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("update pod status: %w", err)
		}
		return nil
	})
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
