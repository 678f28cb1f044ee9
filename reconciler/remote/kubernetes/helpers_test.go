package kubernetes_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientset "k8s.io/client-go/kubernetes"

	"github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/remote"
	"github.com/trueup/trueup/reconciler/remote/kubernetes"
	"github.com/trueup/trueup/reconciler/remote/kubernetes/kubetest"
)

func TestMain(m *testing.M) { kubetest.Main(m) }

// cluster is one test's namespace on the shared API server.
type cluster struct {
	c  *clientset.Clientset
	ns string
}

func newCluster(t *testing.T) cluster {
	cfg := kubetest.Start(t)
	return cluster{c: kubetest.Client(t, cfg), ns: kubetest.Namespace(t, cfg)}
}

// kubelet plays the namespace's Jobs with run.
func (cl cluster) kubelet(t *testing.T, run func(ctx context.Context, c kubetest.Container) kubetest.Exit) *kubetest.Kubelet {
	k := &kubetest.Kubelet{Client: cl.c, Namespace: cl.ns, Run: run}
	k.Start(t)
	return k
}

func (cl cluster) executor(t *testing.T, mod ...func(*kubernetes.Options)) *kubernetes.Executor {
	opts := kubernetes.Options{
		Namespace: cl.ns, Image: "ghcr.io/acme/trueup:1.4.0",
		ServiceAccounts: map[remote.Purpose]string{remote.PurposePlan: "trueup-plan", remote.PurposeApply: "trueup-apply"},
		PollInterval:    50 * time.Millisecond,
	}
	for _, m := range mod {
		m(&opts)
	}
	ex, err := kubernetes.New(cl.c, opts)
	require.NoError(t, err)
	return ex
}

func (cl cluster) jobs(t *testing.T) []batchv1.Job {
	list, err := cl.c.BatchV1().Jobs(cl.ns).List(context.Background(), metav1.ListOptions{})
	require.NoError(t, err)
	return list.Items
}

func (cl cluster) job(t *testing.T, name string) *batchv1.Job {
	job, err := cl.c.BatchV1().Jobs(cl.ns).Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(t, err)
	return job
}

// gone reports whether the run's Job, its Secret and its pods are all gone.
func (cl cluster) gone(t *testing.T, name string) bool {
	ctx := context.Background()
	_, errJob := cl.c.BatchV1().Jobs(cl.ns).Get(ctx, name, metav1.GetOptions{})
	_, errSecret := cl.c.CoreV1().Secrets(cl.ns).Get(ctx, name, metav1.GetOptions{})
	pods, err := cl.c.CoreV1().Pods(cl.ns).List(ctx, metav1.ListOptions{LabelSelector: "batch.kubernetes.io/job-name=" + name})
	require.NoError(t, err)
	return apierrors.IsNotFound(errJob) && apierrors.IsNotFound(errSecret) && len(pods.Items) == 0
}

// leftovers names the Jobs, pods and Secrets of trueup's in the namespace.
func (cl cluster) leftovers(t *testing.T) []string {
	ctx, sel := context.Background(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/managed-by=trueup"}
	var names []string
	jobs, err := cl.c.BatchV1().Jobs(cl.ns).List(ctx, sel)
	require.NoError(t, err)
	for _, j := range jobs.Items {
		names = append(names, "job/"+j.Name)
	}
	pods, err := cl.c.CoreV1().Pods(cl.ns).List(ctx, sel)
	require.NoError(t, err)
	for _, p := range pods.Items {
		names = append(names, "pod/"+p.Name)
	}
	secrets, err := cl.c.CoreV1().Secrets(cl.ns).List(ctx, sel)
	require.NoError(t, err)
	for _, s := range secrets.Items {
		names = append(names, "secret/"+s.Name)
	}
	return names
}

// secret returns the run's Secret, or nil when there is none.
func (cl cluster) secret(t *testing.T, name string) *corev1.Secret {
	s, err := cl.c.CoreV1().Secrets(cl.ns).Get(context.Background(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	require.NoError(t, err)
	return s
}

// newRunner is a remote.Runner over ex whose control plane listens on the loopback.
func newRunner(t *testing.T, ex remote.Executor, mod ...func(*remote.Options)) *remote.Runner {
	var url string
	opts := remote.Options{Executor: ex, URL: func() string { return url }, StartTimeout: 2 * time.Minute,
		HeartbeatInterval: 100 * time.Millisecond, ReportTimeout: time.Minute, StopTimeout: time.Minute}
	for _, m := range mod {
		m(&opts)
	}
	r, err := remote.New(opts)
	require.NoError(t, err)
	srv := httptest.NewServer(r.Handler())
	t.Cleanup(srv.Close)
	url = srv.URL
	return r
}

// emptySpec is a run of a stack of one empty file.
func emptySpec(t *testing.T) reconciler.RunSpec {
	work := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(work, "main.tf"), []byte("#\n"), 0o644))
	return reconciler.RunSpec{Stack: reconciler.Stack{Name: "app", Dir: ".", Workspace: "default"}, Workdir: work, DataDir: t.TempDir()}
}

// runID is a fresh run id.
func runID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// tokenOf reads a played container's token file.
func tokenOf(c kubetest.Container) string {
	b, _ := os.ReadFile(c.Env[remote.EnvRunTokenFile])
	return string(b)
}
