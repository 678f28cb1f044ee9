package kubernetes

import (
	"context"
	"crypto/subtle"
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/trueup/trueup/reconciler/remote"
)

// Start creates l's Job, then the Secret holding its token (owned by the Job; the pod waits for it).
// A Job of that name that exists already is this run's, dispatched before: Start returns a Task
// for it, never a second Job; a Job of that name that is not this run's (other labels) is an error.
func (e *Executor) Start(ctx context.Context, l remote.Launch) (remote.Task, error) {
	if err := e.checkLaunch(l); err != nil {
		return nil, err
	}
	job, created, err := e.createJob(ctx, l)
	if err != nil {
		return nil, err
	}
	if err := e.ensureSecret(ctx, l, job); err != nil {
		if created { // no runner can start without its token: take the Job back (each call has its deadline)
			_ = e.task(job).remove(context.WithoutCancel(ctx))
		}
		return nil, err
	}
	return e.task(job), nil
}

// createJob creates l's Job, or finds the one a start before created.
func (e *Executor) createJob(ctx context.Context, l remote.Launch) (*batchv1.Job, bool, error) {
	jobs := e.api.BatchV1().Jobs(e.opts.Namespace)
	want := e.job(l)
	callCtx, cancel := e.call(ctx)
	got, err := jobs.Create(callCtx, want, metav1.CreateOptions{})
	cancel()
	if err == nil {
		return got, true, nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return nil, false, fmt.Errorf("kubernetes create job %s/%s: %w", e.opts.Namespace, want.Name, err)
	}
	callCtx, cancel = e.call(ctx)
	got, err = jobs.Get(callCtx, want.Name, metav1.GetOptions{})
	cancel()
	if err != nil {
		return nil, false, fmt.Errorf("kubernetes get job %s/%s (it exists already): %w", e.opts.Namespace, want.Name, err)
	}
	if !sameRun(got.Labels, want.Labels) {
		return nil, false, fmt.Errorf("kubernetes job %s/%s exists and is not run %s's %s (labels %v): refusing to use it", e.opts.Namespace, want.Name, l.RunID, l.Purpose, got.Labels)
	}
	return got, false, nil
}

// sameRun reports whether an object's labels mark the same run as want's.
func sameRun(got, want map[string]string) bool {
	for _, k := range []string{LabelManagedBy, LabelRunID, LabelPurpose} {
		if got[k] != want[k] {
			return false
		}
	}
	return true
}

// ensureSecret creates the Secret holding l's token, or checks that the one there holds it.
func (e *Executor) ensureSecret(ctx context.Context, l remote.Launch, job *batchv1.Job) error {
	secrets := e.api.CoreV1().Secrets(e.opts.Namespace)
	callCtx, cancel := e.call(ctx)
	_, err := secrets.Create(callCtx, secret(l, job), metav1.CreateOptions{})
	cancel()
	if err == nil {
		return nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("kubernetes create secret %s/%s: %w", e.opts.Namespace, job.Name, err)
	}
	callCtx, cancel = e.call(ctx)
	got, err := secrets.Get(callCtx, job.Name, metav1.GetOptions{})
	cancel()
	if err != nil {
		return fmt.Errorf("kubernetes get secret %s/%s (it exists already): %w", e.opts.Namespace, job.Name, err)
	}
	if !sameRun(got.Labels, labels(l)) || subtle.ConstantTimeCompare(got.Data[TokenKey], []byte(l.Token)) != 1 {
		return fmt.Errorf("kubernetes secret %s/%s exists and does not hold run %s's token: refusing to use it", e.opts.Namespace, job.Name, l.RunID)
	}
	return nil
}
