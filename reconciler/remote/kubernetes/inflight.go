package kubernetes

import (
	"context"
	"fmt"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/trueup/trueup/reconciler/remote"
)

// listPage is how many Jobs one list call returns.
const listPage = 250

// InFlight lists the namespace's Jobs under trueup's label that have not finished and are not being
// deleted, with their run id (from the label), their Meta (the annotations under
// remote.MetaPrefix) and a Task. A Job whose name is not the one its run-id label gives, or whose
// labels are not a run's, is left out: it was not made by trueup, and is never touched.
func (e *Executor) InFlight(ctx context.Context) ([]remote.InFlight, error) {
	var found []remote.InFlight
	opts := metav1.ListOptions{LabelSelector: LabelManagedBy + "=" + ManagedBy, Limit: listPage}
	for {
		callCtx, cancel := e.call(ctx)
		list, err := e.api.BatchV1().Jobs(e.opts.Namespace).List(callCtx, opts)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("kubernetes list jobs in %s: %w", e.opts.Namespace, err)
		}
		for i := range list.Items {
			if f, ok := e.inFlight(&list.Items[i]); ok {
				found = append(found, f)
			}
		}
		if list.Continue == "" {
			return found, nil
		}
		opts.Continue = list.Continue
	}
}

// inFlight is job as a runner in flight, if it is one of trueup's that runs.
func (e *Executor) inFlight(job *batchv1.Job) (remote.InFlight, bool) {
	id := job.Labels[LabelRunID]
	switch {
	case job.Labels[LabelManagedBy] != ManagedBy, !validRunID(id), job.Name != JobName(id),
		!validPurpose(remote.Purpose(job.Labels[LabelPurpose])), job.DeletionTimestamp != nil:
		return remote.InFlight{}, false
	}
	if finished, _ := jobFinished(job); finished {
		return remote.InFlight{}, false
	}
	meta := map[string]string{}
	for k, v := range job.Annotations {
		if strings.HasPrefix(k, remote.MetaPrefix) {
			meta[k] = v
		}
	}
	return remote.InFlight{RunID: id, Meta: meta, Task: e.task(job)}, true
}
