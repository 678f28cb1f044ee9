package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// task is one runner's Job, known by its name and UID: an object of the same name with another
// UID is not it.
type task struct {
	e     *Executor
	name  string
	uid   types.UID
	runID string
}

func (e *Executor) task(job *batchv1.Job) *task {
	return &task{e: e, name: job.Name, uid: job.UID, runID: job.Labels[LabelRunID]}
}

// Wait reads the Job every PollInterval until it has finished: nil when it completed, else an
// error with Kubernetes' reason (the Job's condition, its pod's container: "OOMKilled, exit 137").
// A pod whose container cannot be created (ErrImagePull, ImagePullBackOff, InvalidImageName,
// CreateContainerConfigError) ends Wait at once with that reason; a Job deleted (or being deleted)
// from under it, or replaced, is an error saying it is gone. An API that cannot be reached for a moment does not end
// Wait: the dispatcher's deadlines decide.
func (t *task) Wait(ctx context.Context) error {
	tick := time.NewTicker(t.e.opts.PollInterval)
	defer tick.Stop()
	for {
		if done, err := t.check(ctx); done {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// check reads the Job (and, while it has not finished, its pod) once: done when Wait is over.
func (t *task) check(ctx context.Context) (bool, error) {
	job, err := t.get(ctx)
	switch {
	case apierrors.IsNotFound(err) || (err == nil && job.UID != t.uid):
		return true, fmt.Errorf("kubernetes job %s/%s is gone", t.e.opts.Namespace, t.name)
	case err == nil && job.DeletionTimestamp != nil:
		return true, fmt.Errorf("kubernetes job %s/%s is gone (being deleted)", t.e.opts.Namespace, t.name)
	case err != nil:
		if ctx.Err() != nil {
			return true, ctx.Err()
		}
		return false, nil
	}
	if finished, ok := jobFinished(job); finished {
		err := t.failure(ctx, job, ok)
		t.deleteSecret(ctx) // its runner has ended: the token is of no more use
		return true, err
	}
	if ptr.Deref(job.Status.Ready, 0) > 0 {
		return false, nil // its container runs: nothing to learn from the pod
	}
	pods, err := t.pods(ctx, job)
	if err != nil {
		return false, nil
	}
	if why := stuck(pods, t.e.opts.Container); why != "" {
		return true, fmt.Errorf("kubernetes job %s/%s cannot start its runner: %s", t.e.opts.Namespace, t.name, why)
	}
	return false, nil
}

// failure is nil for a Job that completed, else the error saying why it failed.
func (t *task) failure(ctx context.Context, job *batchv1.Job, complete bool) error {
	if complete {
		return nil
	}
	pods, _ := t.pods(ctx, job) // without them, the Job's own reason
	return fmt.Errorf("kubernetes job %s/%s failed: %s", t.e.opts.Namespace, t.name, failedBecause(job, pods, t.e.opts.Container))
}

func (t *task) get(ctx context.Context) (*batchv1.Job, error) {
	callCtx, cancel := t.e.call(ctx)
	defer cancel()
	return t.e.api.BatchV1().Jobs(t.e.opts.Namespace).Get(callCtx, t.name, metav1.GetOptions{})
}

// pods lists the Job's pods: those its label names that it controls (by UID).
func (t *task) pods(ctx context.Context, job *batchv1.Job) ([]corev1.Pod, error) {
	callCtx, cancel := t.e.call(ctx)
	defer cancel()
	list, err := t.e.api.CoreV1().Pods(t.e.opts.Namespace).List(callCtx, metav1.ListOptions{LabelSelector: labelJobName + "=" + t.name})
	if err != nil {
		return nil, fmt.Errorf("kubernetes list pods of job %s/%s: %w", t.e.opts.Namespace, t.name, err)
	}
	var pods []corev1.Pod
	for _, p := range list.Items {
		if metav1.IsControlledBy(&p, job) {
			pods = append(pods, p)
		}
	}
	return pods, nil
}

// Stop deletes the Job (propagation Background: a Foreground deletion would wait for a garbage
// collector), its pods (their runner gets SIGTERM, so its Terraform an interrupt, and 70 s) and its
// Secret, then waits until the Job is gone or ctx ends. It is idempotent: what is gone already is
// fine. The reason is the dispatcher's to log; Kubernetes has no place for it.
func (t *task) Stop(ctx context.Context, reason string) error {
	if err := t.remove(ctx); err != nil {
		return fmt.Errorf("stop runner (%s): %w", reason, err)
	}
	tick := time.NewTicker(min(t.e.opts.PollInterval, time.Second))
	defer tick.Stop()
	for {
		job, err := t.get(ctx)
		if apierrors.IsNotFound(err) || (err == nil && job.UID != t.uid) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stop runner (%s): kubernetes job %s/%s not gone yet: %w", reason, t.e.opts.Namespace, t.name, ctx.Err())
		case <-tick.C:
		}
	}
}

// remove deletes the Job, its pods and its Secret, each if it is there.
func (t *task) remove(ctx context.Context) error {
	var errs []error
	callCtx, cancel := t.e.call(ctx)
	err := t.e.api.BatchV1().Jobs(t.e.opts.Namespace).Delete(callCtx, t.name, metav1.DeleteOptions{
		PropagationPolicy: ptr.To(metav1.DeletePropagationBackground),
		Preconditions:     &metav1.Preconditions{UID: &t.uid},
	})
	cancel()
	// A conflict is a failed precondition: another object of that name, not ours to delete.
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		errs = append(errs, fmt.Errorf("kubernetes delete job %s/%s: %w", t.e.opts.Namespace, t.name, err))
	}
	errs = append(errs, t.deletePods(ctx))
	errs = append(errs, t.deleteSecret(ctx))
	return errors.Join(errs...)
}

// deletePods deletes the pods of the Job (by label and owner UID): a cluster's garbage collector
// would, but in its own time.
func (t *task) deletePods(ctx context.Context) error {
	owner := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: t.name, UID: t.uid}}
	pods, err := t.pods(ctx, owner)
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range pods {
		callCtx, cancel := t.e.call(ctx)
		err := t.e.api.CoreV1().Pods(t.e.opts.Namespace).Delete(callCtx, p.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &p.UID}})
		cancel()
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			errs = append(errs, fmt.Errorf("kubernetes delete pod %s/%s: %w", t.e.opts.Namespace, p.Name, err))
		}
	}
	return errors.Join(errs...)
}

// deleteSecret deletes the run's Secret, if it is there.
func (t *task) deleteSecret(ctx context.Context) error {
	callCtx, cancel := t.e.call(ctx)
	defer cancel()
	err := t.e.api.CoreV1().Secrets(t.e.opts.Namespace).Delete(callCtx, t.name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("kubernetes delete secret %s/%s: %w", t.e.opts.Namespace, t.name, err)
	}
	return nil
}
