package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/git/gittest"
	"github.com/trueup/trueup/reconciler/remote/ecs/ecstest"
	"github.com/trueup/trueup/reconciler/terraform/tftest"
)

// A trueup that dies (SIGKILL, with everything in its process group) while an ECS task plans for
// it leaves the task running; the trueup that starts next on the same data dir adopts the task,
// and its reconciler's plan of the same commit claims it instead of starting a second task.
func TestECSExecutorARestartedTrueupAdoptsTheTaskInFlight(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: real git, Terraform and the trueup binary")
	}
	bin := opsBinary(t)
	fake := ecstest.New(t)
	gate := make(chan struct{})
	fake.Run = heldContainer(binaryContainer(t, bin), 1, gate) // the first task runs once its trueup is dead
	env := fakeECSEnv(t, fake)

	out := t.TempDir()
	remote := backendStackRepo(t, out)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	terraformBin, rc := tftest.Tools(t)
	config := filepath.Join(t.TempDir(), "trueup.yaml")
	var b strings.Builder
	fmt.Fprintf(&b, "repo:\n  url: %q\n  poll_interval: 200ms\n", remote.URL())
	fmt.Fprintf(&b, "data_dir: %q\nlisten: %s\nshutdown_grace: 30s\n", t.TempDir(), addr)
	fmt.Fprintf(&b, "log:\n  format: json\n  level: debug\n")
	fmt.Fprintf(&b, "terraform:\n  binary: %q\n  cli_config_file: %q\n", terraformBin, rc)
	fmt.Fprintf(&b, "drift:\n  interval: 1h\n")
	fmt.Fprintf(&b, "runner:\n  executor: ecs\n  callback_url: http://%s\n  ecs:\n    cluster: infra\n    subnets: [subnet-a]\n", addr)
	fmt.Fprintf(&b, "    task_definitions: {plan: trueup-plan, apply: trueup-apply}\n")
	require.NoError(t, os.WriteFile(config, []byte(b.String()), 0o600))

	before := opsStartTrueup(t, config, env...)
	before.waitFor("the plan's task", func() bool { return len(fake.Tasks()) == 1 })
	before.killGroup()
	<-before.exited

	after := opsStartTrueup(t, config, env...)
	after.waitFor("the adoption", func() bool { return after.logs.count("adopted a runner in flight", "purpose", "plan") == 1 })
	close(gate)
	after.waitFor("the apply", func() bool { return after.logs.count("apply finished", "result", "succeeded") == 1 })
	assert.Equal(t, "v1", readFile(t, filepath.Join(out, "app.txt")))
	assert.Equal(t, 1, after.logs.count("resuming a runner adopted after a restart"))

	var defs []string
	for _, tk := range fake.Tasks() {
		defs = append(defs, tk.TaskDefinition)
	}
	assert.Equal(t, []string{"trueup-plan", "trueup-apply"}, defs, "the plan in flight was not started a second time")
}

// fakeECSEnv is the environment in which trueup's ECS client reaches fake and nothing else of AWS.
func fakeECSEnv(t *testing.T, fake *ecstest.Server) []string {
	none := filepath.Join(t.TempDir(), "none")
	return []string{"AWS_ENDPOINT_URL_ECS=" + fake.URL, "AWS_ENDPOINT_URL=http://127.0.0.1:1", "AWS_ACCESS_KEY_ID=AKIDTEST",
		"AWS_SECRET_ACCESS_KEY=secret", "AWS_SESSION_TOKEN=", "AWS_REGION=us-east-1", "AWS_PROFILE=", "AWS_CONFIG_FILE=" + none,
		"AWS_SHARED_CREDENTIALS_FILE=" + none, "AWS_EC2_METADATA_DISABLED=true"}
}

// backendStackRepo is a repository with one stack, stacks/app, writing app.txt ("v1") under out
// and keeping its state in a local backend of its own (runners away from the data dir need one).
func backendStackRepo(t *testing.T, out string) *gittest.Remote {
	state := filepath.Join(t.TempDir(), "app.tfstate")
	remote := gittest.NewRemote(t)
	remote.CommitAndPush("app", map[string]string{"stacks/app/main.tf": localStack(out, "app", "v1", ""),
		"stacks/app/backend.tf": fmt.Sprintf("terraform {\n  backend \"local\" {\n    path = %q\n  }\n}\n", state)})
	return remote
}

// heldContainer plays containers with play, holding the nth task started (from 1) until gate closes.
func heldContainer(play ecstest.Container, nth int32, gate <-chan struct{}) ecstest.Container {
	var started atomic.Int32
	return func(ctx context.Context, command []string, env map[string]string) (int, string) {
		if started.Add(1) == nth {
			select {
			case <-gate:
			case <-ctx.Done():
				return 137, "stopped while held"
			}
		}
		return play(ctx, command, env)
	}
}
