// Package kubernetes is the remote.Executor that runs each runner as a Kubernetes Job in one
// namespace: a Job named trueup-run-<run id> (a retried start never starts a second one), with
// backoffLimit 0, a deadline and a TTL; a service account per purpose, so a plan pod never holds
// the apply identity; the run's token in a Secret of its own, owned by the Job and mounted as a
// file (TRUEUP_RUN_TOKEN_FILE), never in the pod spec. Wait polls the Job and its pod; Stop deletes
// them and the Secret. InFlight lists the Jobs still running under trueup's label, so a restarted
// trueup can adopt them.
//
// Every call to the API has a deadline of its own (Options.CallTimeout). trueup needs, in the
// namespace: jobs create, get, list, delete; pods list, delete; secrets create, get, delete.
package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	batchclient "k8s.io/client-go/kubernetes/typed/batch/v1"
	coreclient "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/trueup/trueup/reconciler/remote"
)

// Labels on every Job, pod and Secret trueup creates.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelRunID     = "trueup.dev/run-id"
	LabelPurpose   = "trueup.dev/purpose"
	// ManagedBy is LabelManagedBy's value.
	ManagedBy = "trueup"
	// labelJobName is the label the job controller puts on a Job's pods.
	labelJobName = "batch.kubernetes.io/job-name"
)

// Where the run's token is mounted in the runner's container.
const (
	TokenDir  = "/var/run/trueup"
	TokenKey  = "token"
	TokenFile = TokenDir + "/" + TokenKey
)

// Defaults of Options.
const (
	DefaultContainer        = "trueup"
	DefaultActiveDeadline   = 2 * time.Hour
	DefaultTTLAfterFinished = time.Hour
	DefaultPollInterval     = 5 * time.Second
	DefaultCallTimeout      = 10 * time.Second
)

// API is the part of a clientset the executor uses; kubernetes.Interface (client-go) implements it.
type API interface {
	BatchV1() batchclient.BatchV1Interface
	CoreV1() coreclient.CoreV1Interface
}

// Options configure the executor.
type Options struct {
	// Namespace holds the runners' Jobs, pods and Secrets; required.
	Namespace string
	// Image is the trueup image the runner runs (`trueup runner`); required.
	Image string
	// ServiceAccounts are the service accounts per purpose, the runs' identities: a plan pod never
	// holds the apply identity. Both are required, and must differ.
	ServiceAccounts map[remote.Purpose]string
	// Container is the runner container's name (DefaultContainer when "").
	Container string
	// Resources are the runner container's requests and limits.
	Resources corev1.ResourceRequirements
	// ActiveDeadline bounds a Job's run (activeDeadlineSeconds; DefaultActiveDeadline when 0).
	ActiveDeadline time.Duration
	// TTLAfterFinished is how long a finished Job stays for people to read (ttlSecondsAfterFinished;
	// DefaultTTLAfterFinished when 0).
	TTLAfterFinished time.Duration
	// Env are more variables for every runner, set by trusted configuration; they never override
	// the run's own.
	Env map[string]string
	// PollInterval is how often a running Job is read (DefaultPollInterval when 0).
	PollInterval time.Duration
	// CallTimeout bounds each call to the API (DefaultCallTimeout when 0).
	CallTimeout time.Duration
}

// Executor starts runners as Kubernetes Jobs.
type Executor struct {
	api  API
	opts Options
}

var (
	_ remote.Executor = (*Executor)(nil)
	_ remote.Adopter  = (*Executor)(nil)
)

// New returns an Executor over api.
func New(api API, opts Options) (*Executor, error) {
	plan, apply := opts.ServiceAccounts[remote.PurposePlan], opts.ServiceAccounts[remote.PurposeApply]
	switch {
	case api == nil:
		return nil, errors.New("kubernetes executor: no API client")
	case opts.Namespace == "" || opts.Image == "":
		return nil, errors.New("kubernetes executor: a namespace and an image are required")
	case plan == "" || apply == "":
		return nil, errors.New("kubernetes executor: a service account for plan and for apply is required")
	case plan == apply:
		return nil, errors.New("kubernetes executor: the plan and apply service accounts must differ (a plan pod never holds the apply identity)")
	}
	defaults := []struct {
		v   *time.Duration
		def time.Duration
	}{{&opts.ActiveDeadline, DefaultActiveDeadline}, {&opts.TTLAfterFinished, DefaultTTLAfterFinished},
		{&opts.PollInterval, DefaultPollInterval}, {&opts.CallTimeout, DefaultCallTimeout}}
	for _, d := range defaults {
		if *d.v <= 0 {
			*d.v = d.def
		}
	}
	if opts.Container == "" {
		opts.Container = DefaultContainer
	}
	return &Executor{api: api, opts: opts}, nil
}

// JobName is the name of run id's Job and Secret.
func JobName(runID string) string { return "trueup-run-" + runID }

// call bounds one API call.
func (e *Executor) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, e.opts.CallTimeout)
}

// validRunID reports whether id is a run id: 32 lower-case hex characters, so that a Job's name
// is a DNS label and names no other run's.
func validRunID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for _, c := range id {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// validPurpose reports whether p is a purpose a runner is started for.
func validPurpose(p remote.Purpose) bool { return p == remote.PurposePlan || p == remote.PurposeApply }

// checkLaunch refuses what would make a Job of the wrong name or identity.
func (e *Executor) checkLaunch(l remote.Launch) error {
	switch {
	case !validRunID(l.RunID):
		return fmt.Errorf("kubernetes job for run %q: a run id is 32 lower-case hex characters", l.RunID)
	case !validPurpose(l.Purpose):
		return fmt.Errorf("kubernetes job %s: unknown purpose %q", JobName(l.RunID), l.Purpose)
	case l.Token == "":
		return fmt.Errorf("kubernetes job %s: no run token", JobName(l.RunID))
	}
	return nil
}
