package kubernetes

import (
	"maps"
	"slices"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/trueup/trueup/reconciler/remote"
)

// Volumes of the runner's pod.
const (
	tokenVolume = "run-token"
	tmpVolume   = "tmp"
	tmpDir      = "/tmp"
)

// terminationGrace is how long a runner asked to stop (SIGTERM: its Terraform gets an interrupt)
// has before it is killed: Terraform's own 60 s, and some.
const terminationGrace = 70

// labels are the labels of run l's Job, pod and Secret.
func labels(l remote.Launch) map[string]string {
	return map[string]string{LabelManagedBy: ManagedBy, LabelRunID: l.RunID, LabelPurpose: string(l.Purpose)}
}

// job is the Job for l. The token is not in it: the pod mounts the Secret secret(l, job).
func (e *Executor) job(l remote.Launch) *batchv1.Job {
	name := JobName(l.RunID)
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: e.opts.Namespace, Labels: labels(l), Annotations: maps.Clone(l.Meta)},
		Spec: batchv1.JobSpec{
			BackoffLimit:            ptr.To[int32](0),
			ActiveDeadlineSeconds:   ptr.To(int64(e.opts.ActiveDeadline.Seconds())),
			TTLSecondsAfterFinished: ptr.To(int32(e.opts.TTLAfterFinished.Seconds())),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels(l)},
				Spec:       e.podSpec(l),
			},
		},
	}
}

// podSpec is the runner's pod: one container, no Kubernetes API credentials, no service links,
// a restricted security context, a writable /tmp and the token's file.
func (e *Executor) podSpec(l remote.Launch) corev1.PodSpec {
	return corev1.PodSpec{
		RestartPolicy:                 corev1.RestartPolicyNever,
		ServiceAccountName:            e.opts.ServiceAccounts[l.Purpose],
		AutomountServiceAccountToken:  ptr.To(false),
		EnableServiceLinks:            ptr.To(false),
		TerminationGracePeriodSeconds: ptr.To[int64](terminationGrace),
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot:   ptr.To(true),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Containers: []corev1.Container{{
			Name: e.opts.Container, Image: e.opts.Image,
			// The command replaces the image's entrypoint (trueup's image runs `trueup run`).
			Command: []string{"trueup"}, Args: []string{"runner"},
			Env:       e.env(l),
			Resources: *e.opts.Resources.DeepCopy(),
			VolumeMounts: []corev1.VolumeMount{
				{Name: tmpVolume, MountPath: tmpDir},
				{Name: tokenVolume, MountPath: TokenDir, ReadOnly: true},
			},
			// A runner that fails says why on its stderr: its last lines become the reason.
			TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
			SecurityContext: &corev1.SecurityContext{
				AllowPrivilegeEscalation: ptr.To(false),
				RunAsNonRoot:             ptr.To(true),
				Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			},
		}},
		Volumes: []corev1.Volume{
			{Name: tmpVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			{Name: tokenVolume, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
				SecretName: JobName(l.RunID),
				Items:      []corev1.KeyToPath{{Key: TokenKey, Path: TokenKey}},
				// Readable by the container's user, whichever it is; the pod has no other container.
				DefaultMode: ptr.To[int32](0o444),
			}}},
		},
	}
}

// env is the runner's environment: Options.Env, then the run's variables without its token, which
// is in TokenFile, sorted by name.
func (e *Executor) env(l remote.Launch) []corev1.EnvVar {
	vars := map[string]string{"TMPDIR": tmpDir}
	maps.Copy(vars, e.opts.Env)
	maps.Copy(vars, l.Env())
	delete(vars, remote.EnvRunToken)
	vars[remote.EnvRunTokenFile] = TokenFile
	env := make([]corev1.EnvVar, 0, len(vars))
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		env = append(env, corev1.EnvVar{Name: k, Value: vars[k]})
	}
	return env
}

// secret holds l's token, owned by job: the cluster's garbage collector removes it with the Job.
func secret(l remote.Launch, job *batchv1.Job) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: job.Name, Namespace: job.Namespace, Labels: labels(l),
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "batch/v1", Kind: "Job", Name: job.Name, UID: job.UID, Controller: ptr.To(true),
			}},
		},
		Type:      corev1.SecretTypeOpaque,
		Immutable: ptr.To(true),
		Data:      map[string][]byte{TokenKey: []byte(l.Token)},
	}
}
