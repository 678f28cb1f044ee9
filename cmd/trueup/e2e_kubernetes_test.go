package main

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/git/gittest"
	"github.com/trueup/trueup/reconciler/remote/kubernetes/kubetest"
	"github.com/trueup/trueup/reconciler/terraform/tftest"
)

// With runner.executor: kubernetes every run is a Job on a real API server (kubetest plays the
// kubelet, running the real binary with the pod's environment and what the image would add:
// Terraform's place): a stack with a backend of its own is applied as with the local executor.
func TestKubernetesExecutorAppliesMergedChanges(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: a Kubernetes API server, real git and Terraform")
	}
	kcfg := kubetest.Start(t)
	ns, client := kubetest.Namespace(t, kcfg), kubetest.Client(t, kcfg)
	terraformBin, rc := tftest.Tools(t)
	image := kubetest.Binary(opsBinary(t))
	kubelet := &kubetest.Kubelet{Client: client, Namespace: ns, Run: func(ctx context.Context, c kubetest.Container) kubetest.Exit {
		c.Env["TRUEUP_RUNNER_TERRAFORM"], c.Env["TF_CLI_CONFIG_FILE"] = terraformBin, rc
		return image(ctx, c)
	}}
	kubelet.Start(t)

	out, state := t.TempDir(), filepath.Join(t.TempDir(), "app.tfstate")
	backend := fmt.Sprintf("terraform {\n  backend \"local\" {\n    path = %q\n  }\n}\n", state)
	remote := gittest.NewRemote(t)
	remote.CommitAndPush("app", map[string]string{"stacks/app/main.tf": localStack(out, "app", "v1", ""), "stacks/app/backend.tf": backend})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	cfg := testConfig(t, remote.URL(), t.TempDir())
	cfg.Listen = addr
	cfg.Runner = RunnerConfig{Executor: executorKubernetes, MaxParallel: 4, CallbackURL: "http://" + addr,
		Kubernetes: KubernetesRunnerConfig{Namespace: ns, Image: "ghcr.io/acme/trueup:test", Kubeconfig: kubetest.Kubeconfig(t),
			ServiceAccounts: KubernetesServiceAccounts{Plan: "trueup-plan", Apply: "trueup-apply"},
			Resources:       KubernetesResources{Requests: map[string]string{"cpu": "500m", "memory": "512Mi"}, Limits: map[string]string{"memory": "2Gi"}}}}
	d := startDaemon(t, cfg)
	d.waitFor("the first apply", func() bool { return d.logs.count("apply finished", "result", "succeeded") == 1 })
	assert.Equal(t, "v1", readFile(t, filepath.Join(out, "app.txt")))

	remote.CommitAndPush("app v2", map[string]string{"stacks/app/main.tf": localStack(out, "app", "v2", "")})
	d.waitFor("the change applied", func() bool { return d.logs.count("apply finished", "result", "succeeded") == 2 })
	assert.Equal(t, "v2", readFile(t, filepath.Join(out, "app.txt")))
	require.NoError(t, d.stop())
	assert.Equal(t, 1, d.logs.count("Terraform runs in trueup runners", "executor", "kubernetes"))

	require.Eventually(t, func() bool { return len(kubelet.Ended()) == 4 }, time.Minute, 20*time.Millisecond,
		"a Job per run, two plans and two applies, each ended")
	for name, exit := range kubelet.Ended() {
		assert.Zero(t, exit.Code, "job %s: runner output: %s", name, exit.Message)
	}
}
