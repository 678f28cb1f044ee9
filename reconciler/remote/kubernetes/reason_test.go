package kubernetes

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func failedJob(reason, message string) *batchv1.Job {
	return &batchv1.Job{Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{
		{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue, Reason: reason, Message: message},
		{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: reason, Message: message},
	}}}
}

func podWith(state corev1.ContainerState, podReason string) corev1.Pod {
	return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "trueup-run-x-abcde"}, Status: corev1.PodStatus{Reason: podReason,
		ContainerStatuses: []corev1.ContainerStatus{{Name: "sidecar", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 9}}},
			{Name: "trueup", State: state}}}}
}

func TestFailedBecause(t *testing.T) {
	for _, tt := range []struct {
		name string
		job  *batchv1.Job
		pods []corev1.Pod
		want string
	}{
		{"out of memory", failedJob("BackoffLimitExceeded", "Job has reached the specified backoff limit"),
			[]corev1.Pod{podWith(corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137}}, "")},
			"BackoffLimitExceeded: Job has reached the specified backoff limit; pod trueup-run-x-abcde: container trueup: OOMKilled, exit 137"},
		{"the runner's last words", failedJob("BackoffLimitExceeded", ""),
			[]corev1.Pod{podWith(corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Error", ExitCode: 1, Message: "runner r1: fetch the job: connection refused\n"}}, "")},
			"BackoffLimitExceeded; pod trueup-run-x-abcde: container trueup: Error, exit 1: runner r1: fetch the job: connection refused"},
		{"the deadline, the pod gone", failedJob("DeadlineExceeded", "Job was active longer than specified deadline"), nil,
			"DeadlineExceeded: Job was active longer than specified deadline"},
		{"evicted before it started", failedJob("BackoffLimitExceeded", ""),
			[]corev1.Pod{podWith(corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}, "Evicted")},
			"BackoffLimitExceeded; pod trueup-run-x-abcde: container trueup waiting: ContainerCreating; Evicted"},
		{"a terminated state without a reason", failedJob("", ""),
			[]corev1.Pod{podWith(corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 2}}, "")},
			"pod trueup-run-x-abcde: container trueup: Terminated, exit 2"},
		{"nothing said", failedJob("", ""), nil, "no reason given"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, failedBecause(tt.job, tt.pods, "trueup"))
		})
	}
}

func TestALongTerminationMessageKeepsItsEnd(t *testing.T) {
	msg := strings.Repeat("x", 5000) + "the last line"
	pod := podWith(corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Error", ExitCode: 1, Message: msg}}, "")
	got := containerSays(pod, "trueup")
	assert.True(t, strings.HasSuffix(got, "the last line"))
	assert.Less(t, len(got), maxMessage+100)
}

func TestStuck(t *testing.T) {
	waiting := func(reason string) []corev1.Pod {
		return []corev1.Pod{podWith(corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: "m"}}, "")}
	}
	for _, tt := range []struct {
		pods []corev1.Pod
		want string
	}{
		{waiting("ErrImagePull"), "pod trueup-run-x-abcde: container trueup waiting: ErrImagePull: m"},
		{waiting("ImagePullBackOff"), "pod trueup-run-x-abcde: container trueup waiting: ImagePullBackOff: m"},
		{waiting("InvalidImageName"), "pod trueup-run-x-abcde: container trueup waiting: InvalidImageName: m"},
		{waiting("CreateContainerConfigError"), "pod trueup-run-x-abcde: container trueup waiting: CreateContainerConfigError: m"},
		{waiting("ContainerCreating"), ""},
		{[]corev1.Pod{podWith(corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}, "")}, ""},
		{nil, ""},
	} {
		assert.Equal(t, tt.want, stuck(tt.pods, "trueup"))
	}
}

func TestJobFinished(t *testing.T) {
	for _, tt := range []struct {
		conds              []batchv1.JobCondition
		finished, complete bool
	}{
		{nil, false, false},
		{[]batchv1.JobCondition{{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue}}, false, false},
		{[]batchv1.JobCondition{{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue}}, false, false},
		{[]batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}, true, true},
		{[]batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue}}, true, false},
		{[]batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionFalse}}, false, false},
	} {
		finished, complete := jobFinished(&batchv1.Job{Status: batchv1.JobStatus{Conditions: tt.conds}})
		assert.Equal(t, tt.finished, finished, "%v", tt.conds)
		assert.Equal(t, tt.complete, complete, "%v", tt.conds)
	}
}
