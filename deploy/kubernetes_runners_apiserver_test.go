package deploy_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The runner manifests against a real kube-apiserver (the one .ci/envtest pins, built by make tools into
// .tools/kube, or KUBEBUILDER_ASSETS): the API server itself says what trueup's service account may do, and
// Pod Security admission says which pods the runner namespace accepts. Skipped without the binaries.

// kubeAssets is the directory holding kube-apiserver and etcd, or "" when there is none.
func kubeAssets(t *testing.T) string {
	t.Helper()
	for _, dir := range []string{os.Getenv("KUBEBUILDER_ASSETS"), filepath.Join(repoRoot(t), ".tools", "kube")} {
		if dir == "" {
			continue
		}
		_, errA := os.Stat(filepath.Join(dir, "kube-apiserver"))
		_, errE := os.Stat(filepath.Join(dir, "etcd"))
		if errA == nil && errE == nil {
			return dir
		}
	}
	return ""
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startProcess starts a long-running command whose output goes to a file of dir, stopped at the test's end;
// the channel closes if it exits before.
func startProcess(t *testing.T, dir, name string, args ...string) <-chan struct{} {
	t.Helper()
	log, err := os.Create(filepath.Join(dir, filepath.Base(name)+".log"))
	require.NoError(t, err)
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = log, log
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		_ = log.Close()
		if t.Failed() {
			if out, err := os.ReadFile(log.Name()); err == nil && len(out) > 0 {
				t.Logf("%s (last 2 KiB):\n%s", filepath.Base(name), out[max(0, len(out)-2048):])
			}
		}
	})
	return exited
}

// apiServer starts etcd and kube-apiserver (RBAC, default admission plugins) and returns a kubectl that
// talks to it as a cluster admin.
func apiServer(t *testing.T, assets, kubectlBin string) func(args ...string) (string, string, error) {
	t.Helper()
	dir := t.TempDir()
	etcdPort, peerPort, apiPort := freePort(t), freePort(t), freePort(t)
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", etcdPort)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peerPort)
	startProcess(t, dir, filepath.Join(assets, "etcd"),
		"--data-dir", filepath.Join(dir, "etcd"), "--name", "default",
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "default="+peerURL, "--unsafe-no-fsync")

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	saKey := filepath.Join(dir, "sa.key")
	require.NoError(t, os.WriteFile(saKey, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600))
	token := rand.Text()
	tokens := filepath.Join(dir, "tokens.csv")
	require.NoError(t, os.WriteFile(tokens, []byte(token+`,admin,admin,"system:masters"`+"\n"), 0o600))

	apiExited := startProcess(t, dir, filepath.Join(assets, "kube-apiserver"),
		"--etcd-servers", etcdURL, "--cert-dir", filepath.Join(dir, "certs"),
		"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--secure-port", fmt.Sprint(apiPort),
		"--service-cluster-ip-range", "10.0.0.0/24", "--allow-privileged=true",
		"--service-account-issuer", "https://kubernetes.default.svc", "--service-account-key-file", saKey,
		"--service-account-signing-key-file", saKey, "--authorization-mode", "RBAC", "--token-auth-file", tokens,
		"--enable-priority-and-fairness=false", "--endpoint-reconciler-type=none")

	server := fmt.Sprintf("https://127.0.0.1:%d", apiPort)
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // a throwaway server's self-signed certificate
	deadline := time.Now().Add(90 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, server+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		require.True(t, time.Now().Before(deadline), "kube-apiserver not ready after 90 s: %v", err)
		select {
		case <-apiExited:
			require.FailNow(t, "kube-apiserver exited")
		case <-time.After(500 * time.Millisecond):
		}
	}

	kubeconfig := filepath.Join(dir, "kubeconfig")
	require.NoError(t, os.WriteFile(kubeconfig, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: envtest, cluster: {server: %q, insecure-skip-tls-verify: true}}]
users: [{name: admin, user: {token: %q}}]
contexts: [{name: envtest, context: {cluster: envtest, user: admin}}]
current-context: envtest
`, server, token)), 0o600))
	return func(args ...string) (string, string, error) {
		var out, errb bytes.Buffer
		cmd := exec.Command(kubectlBin, append([]string{"--kubeconfig", kubeconfig}, args...)...)
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		return out.String(), errb.String(), err
	}
}

// conformingRunnerPod is a runner pod as the kubernetes executor's Jobs must make them to pass Pod Security
// "restricted": non-root, no privilege escalation, no capabilities, the RuntimeDefault seccomp profile, the
// token from its Secret readable by the runner's group.
const conformingRunnerPod = `apiVersion: v1
kind: Pod
metadata:
  name: trueup-run-conforming
  labels: {app.kubernetes.io/managed-by: trueup}
spec:
  serviceAccountName: trueup-plan
  automountServiceAccountToken: false
  restartPolicy: Never
  securityContext:
    runAsNonRoot: true
    runAsUser: 10001
    runAsGroup: 10001
    fsGroup: 10001
    seccompProfile: {type: RuntimeDefault}
  containers:
    - name: trueup
      image: ghcr.io/trueup/trueup:latest
      command: ["/usr/local/bin/trueup", "runner"]
      env: [{name: TRUEUP_RUN_TOKEN_FILE, value: /var/run/trueup/token}]
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities: {drop: ["ALL"]}
      volumeMounts:
        - {name: token, mountPath: /var/run/trueup, readOnly: true}
        - {name: tmp, mountPath: /tmp}
  volumes:
    - {name: token, secret: {secretName: trueup-run-conforming, defaultMode: 0440}}
    - {name: tmp, emptyDir: {}}
`

// privilegedJob is what a stolen trueup token would try: a Job whose pod owns the node.
const privilegedJob = `apiVersion: batch/v1
kind: Job
metadata: {name: trueup-run-evil}
spec:
  template:
    spec:
      restartPolicy: Never
      hostPID: true
      containers:
        - name: x
          image: busybox
          securityContext: {privileged: true}
          volumeMounts: [{name: host, mountPath: /host}]
      volumes: [{name: host, hostPath: {path: /}}]
`

func TestKubernetesRunnersOnAPIServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd and kube-apiserver")
	}
	assets := kubeAssets(t)
	if assets == "" {
		skipOrFail(t, "no kube-apiserver and etcd in .tools/kube or KUBEBUILDER_ASSETS (make tools builds them)")
	}
	k := apiServer(t, assets, kubectl(t))
	run := func(args ...string) string {
		t.Helper()
		out, stderr, err := k(args...)
		require.NoError(t, err, "kubectl %s: %s%s", strings.Join(args, " "), out, stderr)
		return out
	}

	// Applied for real: every object is valid for this API server.
	run("apply", "-k", deployPath(t, runnersDir))
	run("create", "namespace", daemonNamespace)
	for _, base := range k8sDirs {
		run("apply", "--dry-run=server", "-n", daemonNamespace, "-k", overlay(t, base, runnersComponent))
	}

	const trueup = "system:serviceaccount:" + daemonNamespace + ":trueup"
	can := func(as, ns string, args ...string) bool {
		t.Helper()
		full := append([]string{"auth", "can-i", "--as", as}, args...)
		if ns != "" {
			full = append(full, "-n", ns)
		}
		out, stderr, err := k(full...)
		answer := strings.TrimSpace(out)
		require.Contains(t, []string{"yes", "no"}, answer, "kubectl %s: %s", strings.Join(full, " "), stderr)
		assert.Equal(t, answer == "yes", err == nil)
		return answer == "yes"
	}

	// What trueup may do in the runner namespace, as the API server decides it.
	for resource, verbs := range runnerRole {
		group, res, _ := strings.Cut(resource, "/")
		name := res
		sub := ""
		if r, s, ok := strings.Cut(res, "/"); ok {
			name, sub = r, s
		}
		if group != "" {
			name += "." + group
		}
		for _, v := range verbs {
			args := []string{v, name}
			if sub != "" {
				args = append(args, "--subresource", sub)
			}
			assert.True(t, can(trueup, "trueup-runners", args...), "trueup may %s %s", v, resource)
		}
	}
	for _, args := range [][]string{
		{"create", "pods"},
		{"update", "pods"},
		{"create", "pods", "--subresource", "exec"},
		{"create", "pods", "--subresource", "attach"},
		{"create", "pods", "--subresource", "portforward"},
		{"list", "secrets"},
		{"watch", "secrets"},
		{"update", "secrets"},
		{"patch", "jobs.batch"},
		{"update", "jobs.batch", "--subresource", "status"},
		{"deletecollection", "jobs.batch"},
		{"create", "cronjobs.batch"},
		{"create", "deployments.apps"},
		{"create", "serviceaccounts"},
		{"create", "serviceaccounts", "--subresource", "token"},
		{"create", "roles.rbac.authorization.k8s.io"},
		{"create", "rolebindings.rbac.authorization.k8s.io"},
		{"escalate", "roles.rbac.authorization.k8s.io"},
		{"bind", "roles.rbac.authorization.k8s.io"},
		{"impersonate", "serviceaccounts"},
		{"delete", "networkpolicies.networking.k8s.io"},
		{"delete", "resourcequotas"},
		{"get", "configmaps"},
	} {
		assert.False(t, can(trueup, "trueup-runners", args...), "trueup may not %v in the runner namespace", args)
	}
	for _, args := range [][]string{{"create", "jobs.batch"}, {"get", "secrets"}, {"delete", "pods"}} {
		assert.False(t, can(trueup, daemonNamespace, args...), "trueup may not %v in its own namespace", args)
		assert.False(t, can(trueup, "default", args...), "trueup may not %v in another namespace", args)
	}
	for _, args := range [][]string{{"list", "jobs.batch", "--all-namespaces"}, {"list", "namespaces"}, {"create", "namespaces"}, {"list", "nodes"}} {
		assert.False(t, can(trueup, "", args...), "trueup may not %v cluster-wide", args)
	}
	// The runners' own accounts may do nothing with the API.
	for _, sa := range []string{"trueup-plan", "trueup-apply"} {
		for _, args := range [][]string{{"get", "pods"}, {"get", "secrets"}, {"list", "jobs.batch"}} {
			assert.False(t, can("system:serviceaccount:trueup-runners:"+sa, "trueup-runners", args...), "%s may not %v", sa, args)
		}
	}

	// The whole list, so that a grant nobody thought to ask about shows too: what trueup's account may do
	// there beyond what any account may (discovery, self reviews).
	list := func(as string) map[string][]string {
		t.Helper()
		out := run("auth", "can-i", "--list", "--as", as, "-n", "trueup-runners")
		rules := map[string][]string{}
		for _, line := range strings.Split(out, "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 4 || strings.HasPrefix(f[0], "[") { // non-resource URLs
				continue
			}
			verbs := strings.Fields(strings.Trim(strings.Join(f[3:], " "), "[]"))
			rules[f[0]] = append(rules[f[0]], verbs...)
		}
		for k := range rules {
			sort.Strings(rules[k])
		}
		return rules
	}
	got, anyone := list(trueup), list("system:serviceaccount:default:nobody")
	for res, verbs := range anyone {
		assert.Equal(t, verbs, got[res], "%s: trueup has what any account has", res)
		delete(got, res)
	}
	assert.NotEmpty(t, anyone, "the baseline was read")
	want := map[string][]string{}
	for resource, verbs := range runnerRole {
		group, res, _ := strings.Cut(resource, "/")
		if group != "" {
			res += "." + group
		}
		want[res] = verbs
	}
	for k := range got {
		sort.Strings(got[k])
	}
	assert.Equal(t, want, got, "kubectl auth can-i --list for trueup in the runner namespace, beyond any account's")

	// Pod Security "restricted": a runner pod as the executor must make it is admitted; a privileged one is
	// not, and trueup's Job for one draws the warning (its pods would be refused).
	path := filepath.Join(t.TempDir(), "pod.yaml")
	require.NoError(t, os.WriteFile(path, []byte(conformingRunnerPod), 0o600))
	run("create", "--dry-run=server", "-n", "trueup-runners", "-f", path)
	evil := filepath.Join(t.TempDir(), "job.yaml")
	require.NoError(t, os.WriteFile(evil, []byte(privilegedJob), 0o600))
	_, stderr, err := k("create", "--dry-run=server", "-n", "trueup-runners", "--as", trueup, "-f", evil)
	require.NoError(t, err, "RBAC lets trueup create any Job: %s", stderr)
	assert.Contains(t, stderr, `would violate PodSecurity "restricted:latest"`)
	pod := strings.Replace(conformingRunnerPod, "  restartPolicy: Never\n", "  restartPolicy: Never\n  hostNetwork: true\n", 1)
	require.NoError(t, os.WriteFile(path, []byte(pod), 0o600))
	_, stderr, err = k("create", "--dry-run=server", "-n", "trueup-runners", "-f", path)
	require.Error(t, err, "a privileged pod in the runner namespace")
	assert.Contains(t, stderr, `violates PodSecurity "restricted:latest"`)
}
