package kubernetes

import (
	"fmt"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// neverStarts are the reasons a container waits for that its runner will never outlive: the image
// cannot be pulled or named, or the container cannot be configured (a missing Secret or ConfigMap).
var neverStarts = map[string]bool{
	"ErrImagePull": true, "ImagePullBackOff": true, "InvalidImageName": true, "CreateContainerConfigError": true,
}

// maxMessage bounds a container's termination message in a reason (the runner's last log lines).
const maxMessage = 1024

// jobFinished reports whether the Job has finished, and if so whether it completed (else it failed).
func jobFinished(job *batchv1.Job) (finished, complete bool) {
	for _, c := range job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete:
			return true, true
		case batchv1.JobFailed:
			return true, false
		}
	}
	return false, false
}

// failedBecause says why a failed Job failed: its Failed condition's reason and message, then what
// its pods say (the container's termination: "OOMKilled, exit 137", or what it waited for).
func failedBecause(job *batchv1.Job, pods []corev1.Pod, container string) string {
	var parts []string
	for _, c := range job.Status.Conditions {
		if s := joinNonEmpty(": ", c.Reason, c.Message); c.Type == batchv1.JobFailed && c.Status == corev1.ConditionTrue && s != "" {
			parts = append(parts, s)
		}
	}
	for _, p := range pods {
		if why := podSays(p, container); why != "" {
			parts = append(parts, "pod "+p.Name+": "+why)
		}
	}
	if len(parts) == 0 {
		return "no reason given"
	}
	return strings.Join(parts, "; ")
}

// podSays is what a pod tells of its end: its runner container's state, else the pod's reason.
func podSays(p corev1.Pod, container string) string {
	var why []string
	if s := containerSays(p, container); s != "" {
		why = append(why, s)
	}
	if s := joinNonEmpty(": ", p.Status.Reason, p.Status.Message); s != "" {
		why = append(why, s)
	}
	return strings.Join(why, "; ")
}

// containerSays describes the runner container's state: terminated (reason, exit code and the
// start of its message) or waiting (reason and message).
func containerSays(p corev1.Pod, container string) string {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name != container {
			continue
		}
		term := cs.State.Terminated
		if term == nil {
			term = cs.LastTerminationState.Terminated
		}
		switch {
		case term != nil:
			s := fmt.Sprintf("container %s: %s, exit %d", container, orDefault(term.Reason, "Terminated"), term.ExitCode)
			if m := strings.TrimSpace(term.Message); m != "" {
				if len(m) > maxMessage {
					m = "..." + strings.ToValidUTF8(m[len(m)-maxMessage:], "")
				}
				s += ": " + m
			}
			return s
		case cs.State.Waiting != nil && cs.State.Waiting.Reason != "":
			return fmt.Sprintf("container %s waiting: %s", container, joinNonEmpty(": ", cs.State.Waiting.Reason, cs.State.Waiting.Message))
		}
	}
	return ""
}

// stuck returns why one of the pods will never run its runner ("" when none is stuck).
func stuck(pods []corev1.Pod, container string) string {
	for _, p := range pods {
		for _, cs := range p.Status.ContainerStatuses {
			if cs.Name == container && cs.State.Waiting != nil && neverStarts[cs.State.Waiting.Reason] {
				return "pod " + p.Name + ": " + containerSays(p, container)
			}
		}
	}
	return ""
}

func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
