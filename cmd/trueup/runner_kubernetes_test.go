package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"github.com/trueup/trueup/reconciler/terraform/tftest"
)

const kubernetesRunnerYAML = `runner:
  executor: kubernetes
  callback_url: http://trueup.trueup.svc:8080
  kubernetes:
    namespace: trueup
    image: ghcr.io/acme/trueup:1.4.0
    service_accounts: {plan: trueup-plan, apply: trueup-apply}
    resources: {requests: {cpu: 500m, memory: 512Mi}, limits: {cpu: 1, memory: 2Gi}}
    kubeconfig: ""
    active_deadline: 2h
    ttl_after_finished: 1h
`

func TestLoadConfigRunnerKubernetes(t *testing.T) {
	cfg, err := LoadConfig(writeConfig(t, kubernetesRunnerYAML))
	require.NoError(t, err)
	require.Empty(t, cfg.validateRunner())
	assert.Equal(t, KubernetesRunnerConfig{
		Namespace: "trueup", Image: "ghcr.io/acme/trueup:1.4.0",
		ServiceAccounts: KubernetesServiceAccounts{Plan: "trueup-plan", Apply: "trueup-apply"},
		Resources: KubernetesResources{Requests: map[string]string{"cpu": "500m", "memory": "512Mi"},
			Limits: map[string]string{"cpu": "1", "memory": "2Gi"}},
		ActiveDeadline: 2 * time.Hour, TTLAfterFinished: time.Hour,
	}, cfg.Runner.Kubernetes)

	res, err := cfg.Runner.Kubernetes.Resources.requirements()
	require.NoError(t, err)
	assert.Equal(t, "500m", res.Requests.Cpu().String())
	assert.Equal(t, "512Mi", res.Requests.Memory().String())
	assert.Equal(t, "2Gi", res.Limits.Memory().String())
	assert.Equal(t, "1", res.Limits.Cpu().String())
	_, ok := res.Limits[corev1.ResourceEphemeralStorage]
	assert.False(t, ok)

	_, err = LoadConfig(writeConfig(t, kubernetesRunnerYAML+"    service_account: x\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown key "service_account"`)
}

func TestValidateRunnerKubernetes(t *testing.T) {
	valid := func() Config {
		c := DefaultConfig()
		c.Repo.URL = "/srv/git/infra.git"
		c.Runner = RunnerConfig{Executor: executorKubernetes, MaxParallel: 20, CallbackURL: "http://trueup.trueup.svc:8080",
			Kubernetes: KubernetesRunnerConfig{Namespace: "trueup-runners", Image: "ghcr.io/acme/trueup:1.4.0",
				ServiceAccounts: KubernetesServiceAccounts{Plan: "trueup-plan", Apply: "trueup-apply"},
				Resources:       KubernetesResources{Requests: map[string]string{"cpu": "500m", "memory": "512Mi"}, Limits: map[string]string{"memory": "2Gi"}}}}
		return c
	}
	require.NoError(t, valid().Validate())
	k := func(change func(*KubernetesRunnerConfig)) func(*Config) {
		return func(c *Config) { change(&c.Runner.Kubernetes) }
	}
	for _, tt := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"no namespace", k(func(k *KubernetesRunnerConfig) { k.Namespace = "" }), "runner.kubernetes.namespace is required"},
		{"a namespace that is no DNS label", k(func(k *KubernetesRunnerConfig) { k.Namespace = "Trueup_Runners" }), `runner.kubernetes.namespace "Trueup_Runners" is not a valid name`},
		{"no image", k(func(k *KubernetesRunnerConfig) { k.Image = "" }), "runner.kubernetes.image is required"},
		{"an image with a space", k(func(k *KubernetesRunnerConfig) { k.Image = "trueup latest" }), "runner.kubernetes.image is required"},
		{"no apply service account", k(func(k *KubernetesRunnerConfig) { k.ServiceAccounts.Apply = "" }), "runner.kubernetes.service_accounts needs plan and apply"},
		{"one service account for both", k(func(k *KubernetesRunnerConfig) { k.ServiceAccounts.Apply = "trueup-plan" }), "plan and apply must differ"},
		{"a service account that is no name", k(func(k *KubernetesRunnerConfig) { k.ServiceAccounts.Plan = "trueup plan" }), `runner.kubernetes.service_accounts.plan "trueup plan" is not a valid name`},
		{"a container that is no DNS label", k(func(k *KubernetesRunnerConfig) { k.Container = "trueup.runner" }), `runner.kubernetes.container "trueup.runner" is not a valid name`},
		{"a quantity that is none", k(func(k *KubernetesRunnerConfig) { k.Resources.Requests["memory"] = "512MB!" }), `runner.kubernetes.resources: requests.memory: "512MB!" is not a quantity`},
		{"a negative quantity", k(func(k *KubernetesRunnerConfig) { k.Resources.Limits["cpu"] = "-1" }), `limits.cpu: "-1" is not a quantity`},
		{"a resource that is no name", k(func(k *KubernetesRunnerConfig) { k.Resources.Limits["my memory"] = "1Gi" }), `limits: "my memory" is not a resource name`},
		{"a request above its limit", k(func(k *KubernetesRunnerConfig) { k.Resources.Requests["memory"] = "3Gi" }), "requests.memory 3Gi is above limits.memory 2Gi"},
		{"a negative deadline", k(func(k *KubernetesRunnerConfig) { k.ActiveDeadline = -time.Hour }), "runner.kubernetes.active_deadline must be at least 1s"},
		{"a deadline under a second", k(func(k *KubernetesRunnerConfig) { k.ActiveDeadline = time.Millisecond }), "runner.kubernetes.active_deadline must be at least 1s"},
		{"a negative TTL", k(func(k *KubernetesRunnerConfig) { k.TTLAfterFinished = -time.Second }), "runner.kubernetes.ttl_after_finished must not be negative"},
		{"no callback URL", func(c *Config) { c.Runner.CallbackURL = "" }, "runner.callback_url is required with runner.executor: kubernetes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.change(&c)
			err := c.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestKubernetesExecutorFindsItsCluster(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Runner.Kubernetes = KubernetesRunnerConfig{Namespace: "trueup", Image: "trueup:1",
		ServiceAccounts: KubernetesServiceAccounts{Plan: "trueup-plan", Apply: "trueup-apply"}}

	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	_, err := kubernetesExecutor(cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "runner.kubernetes: in-cluster config (outside a cluster, set runner.kubernetes.kubeconfig)")

	cfg.Runner.Kubernetes.Kubeconfig = filepath.Join(t.TempDir(), "missing")
	_, err = kubernetesExecutor(cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "runner.kubernetes.kubeconfig:")

	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`), 0o600))
	cfg.Runner.Kubernetes.Kubeconfig = kubeconfig
	ex, err := kubernetesExecutor(cfg)
	require.NoError(t, err, "no call is made until a run starts")
	assert.NotNil(t, ex)
}

// The runner: section deploy/kubernetes/runners tells people to copy is valid configuration.
func TestTheDeployedRunnerSectionIsValid(t *testing.T) {
	root, err := tftest.RepoRoot()
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(root, "deploy", "kubernetes", "runners", "trueup-runner.example.yaml"))
	require.NoError(t, err)
	cfg, err := LoadConfig(writeConfig(t, "repo:\n  url: /srv/git/infra.git\n"+string(b)))
	require.NoError(t, err)
	assert.Empty(t, cfg.validateRunner())
	assert.Equal(t, executorKubernetes, cfg.Runner.Executor)
	_, err = cfg.Runner.Kubernetes.Resources.requirements()
	require.NoError(t, err)
}
