// Package kubetest runs a real Kubernetes API server for a test binary (etcd and kube-apiserver,
// through controller-runtime's envtest) and plays, for the Jobs the kubernetes executor creates,
// what a cluster has and the API server has not: the job controller and the kubelet (Kubelet).
//
// A test package uses it from TestMain:
//
//	func TestMain(m *testing.M) { kubetest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		cfg := kubetest.Start(t)          // the binary's shared API server
//		ns := kubetest.Namespace(t, cfg)  // a fresh namespace for this test
//		...
//	}
//
// The binaries are found in $KUBEBUILDER_ASSETS, else in the repository's .tools/kube (make tools
// builds them). Without them Start skips the test, saying so, unless TRUEUP_REQUIRE_KUBE=1 (make
// test sets it): then it fails the test naming what is missing.
package kubetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	clientset "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/trueup/trueup/reconciler/terraform/tftest"
)

// Environment variables read by the package.
const (
	// EnvAssets names the directory holding etcd and kube-apiserver (envtest's own variable).
	EnvAssets = "KUBEBUILDER_ASSETS"
	// EnvRequire set to 1 turns missing binaries from a skip into a failure.
	EnvRequire = "TRUEUP_REQUIRE_KUBE"
)

// binaries are what envtest runs.
var binaries = []string{"etcd", "kube-apiserver"}

var (
	mainCalled atomic.Bool

	mu         sync.Mutex // guards env, cfg, startErr, skipReason and cleanups
	env        *envtest.Environment
	cfg        *rest.Config
	startErr   error
	skipReason string
	cleanups   []func()
)

// Main runs the tests of m, then stops the API server and removes what the package made. It also
// does so when the binary is interrupted (SIGINT, SIGTERM), and a little before the binary's
// -test.timeout would end it without clean-up: etcd and kube-apiserver never outlive the tests.
func Main(m *testing.M) {
	mainCalled.Store(true)
	flag.Parse()
	if f := flag.Lookup("test.timeout"); f != nil {
		if d, ok := f.Value.(flag.Getter).Get().(time.Duration); ok && d > time.Minute {
			time.AfterFunc(d-15*time.Second, func() {
				fmt.Fprintln(os.Stderr, "kubetest: the tests are about to time out: stopping the API server")
				stopAll()
			})
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		if _, ok := <-sig; ok {
			stopAll()
			os.Exit(130)
		}
	}()
	code := m.Run()
	signal.Stop(sig)
	stopAll()
	mu.Lock()
	reason := skipReason
	mu.Unlock()
	if reason != "" {
		fmt.Fprintf(os.Stderr, "\n*** Kubernetes tests SKIPPED: %s ***\n\n", reason)
	}
	os.Exit(code)
}

// After is for a TestMain that runs another package's Main (pgtest.Main): it lets Start be used
// without Main, and returns what to call once the tests are over to stop the API server.
func After() func() {
	mainCalled.Store(true)
	return func() {
		stopAll()
		mu.Lock()
		reason := skipReason
		mu.Unlock()
		if reason != "" {
			fmt.Fprintf(os.Stderr, "\n*** Kubernetes tests SKIPPED: %s ***\n\n", reason)
		}
	}
}

// Kubeconfig writes a kubeconfig file for the test binary's API server (an admin's client
// certificate) and returns its path; Start must have been called.
func Kubeconfig(t testing.TB) string {
	t.Helper()
	mu.Lock()
	var data []byte
	if env != nil {
		data = env.KubeConfig
	}
	mu.Unlock()
	if len(data) == 0 {
		t.Fatal("kubetest.Kubeconfig: no API server (call Start first)")
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// stopAll stops the API server, if it runs, and removes what the package made.
func stopAll() {
	mu.Lock()
	defer mu.Unlock()
	if env != nil {
		if err := env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "kubetest: stop the API server: %v\n", err)
		}
		env, startErr = nil, errors.New("kubetest: the API server was stopped")
	}
	for _, f := range cleanups {
		f()
	}
	cleanups = nil
}

// Start returns the config of the test binary's API server (as an admin), starting it on first use.
func Start(t testing.TB) *rest.Config {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a Kubernetes API server; skipped with -short")
	}
	if !mainCalled.Load() {
		t.Fatal("kubetest.Start needs kubetest.Main: add func TestMain(m *testing.M) { kubetest.Main(m) }")
	}
	dir, err := assets()
	if err != nil {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatalf("%v (%s=1): run `make tools`", err, EnvRequire)
		}
		mu.Lock()
		skipReason = err.Error() + ": run `make tools`, or set " + EnvRequire + "=1 to fail instead"
		mu.Unlock()
		t.Skip("Kubernetes tests SKIPPED: " + err.Error())
	}
	mu.Lock()
	defer mu.Unlock()
	if env == nil && startErr == nil {
		ctrllog.SetLogger(logr.Discard())
		env = &envtest.Environment{BinaryAssetsDirectory: dir, ControlPlaneStartTimeout: 2 * time.Minute, ControlPlaneStopTimeout: time.Minute}
		cfg, startErr = env.Start()
		if startErr != nil {
			env = nil
		}
	}
	if startErr != nil {
		t.Fatalf("start the Kubernetes API server from %s: %v", dir, startErr)
	}
	return rest.CopyConfig(cfg)
}

// assets returns the directory holding the binaries, or an error naming those missing.
func assets() (string, error) {
	dir := os.Getenv(EnvAssets)
	if dir == "" {
		root, err := tftest.RepoRoot()
		if err != nil {
			return "", fmt.Errorf("find .tools/kube: %w", err)
		}
		dir = filepath.Join(root, ".tools", "kube")
	}
	var missing []string
	for _, b := range binaries {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			missing = append(missing, filepath.Join(dir, b))
		}
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("the Kubernetes test binaries are missing: %v", missing)
	}
	return dir, nil
}

// Client returns a clientset for cfg that does not log the API server's warnings.
func Client(t testing.TB, cfg *rest.Config) *clientset.Clientset {
	t.Helper()
	cfg = rest.CopyConfig(cfg)
	cfg.WarningHandler = rest.NoWarnings{}
	c, err := clientset.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("kubernetes client: %v", err)
	}
	return c
}

// Namespace creates a fresh namespace for t, with the service accounts trueup-plan and trueup-apply,
// under Pod Security Admission "restricted" (enforced: a pod that breaks it is refused, as
// deploy/kubernetes/runners does). Namespaces are never deleted: the API server alone has no
// namespace controller to empty them.
func Namespace(t testing.TB, cfg *rest.Config) string {
	t.Helper()
	c := Client(t, cfg)
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "t-" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/warn": "restricted"}}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	for _, sa := range []string{"trueup-plan", "trueup-apply"} {
		if _, err := c.CoreV1().ServiceAccounts(name).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create service account %s/%s: %v", name, sa, err)
		}
	}
	return name
}

// onExit runs f when Main ends.
func onExit(f func()) {
	mu.Lock()
	cleanups = append(cleanups, f)
	mu.Unlock()
}
