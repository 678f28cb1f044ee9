package main

import (
	"fmt"
	"net"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler/remote/ecs/ecstest"
)

// Two replicas with ECS runners. Runners are given the standby's address (as a load balancer
// might): the standby relays their calls to the leader, and the runs complete. The leader then
// dies (SIGKILL) while a plan task waits to start; the standby takes the lease, adopts the task
// (the adoption key is the shared store's), and its plan of the same commit claims it.
func TestReplicasRunnersReachTheLeaderThroughTheStandbyAndANewLeaderAdoptsThem(t *testing.T) {
	bin := opsBinary(t)
	fake := ecstest.New(t)
	gate := make(chan struct{})
	fake.Run = heldContainer(binaryContainer(t, bin), 3, gate) // the plan of the second commit runs once its leader is dead
	env := fakeECSEnv(t, fake)
	out := t.TempDir()
	repo := backendStackRepo(t, out)

	addrA, addrB := freeAddr(t), freeAddr(t)
	set := newReplicaSet(t, repo.URL(), env...)
	extra := fmt.Sprintf("runner:\n  executor: ecs\n  callback_url: http://%s\n  ecs:\n    cluster: infra\n    subnets: [subnet-a]\n"+
		"    task_definitions: {plan: trueup-plan, apply: trueup-apply}\n", addrB)
	a := set.startAt("a", addrA, extra)
	waitLeading(a)
	b := set.startAt("b", addrB, extra)
	b.url()
	a.waitFor("v1 applied by the leader, its runners relayed by the standby", func() bool {
		return a.logs.count("apply finished", "result", "succeeded") == 1
	})
	assert.Equal(t, "v1", readFile(t, filepath.Join(out, "app.txt")))
	assert.Zero(t, b.logs.count("apply finished"), "the standby ran nothing")

	repo.CommitAndPush("app v2", map[string]string{"stacks/app/main.tf": localStack(out, "app", "v2", "")})
	a.waitFor("the plan's task for v2", func() bool { return len(fake.Tasks()) == 3 })
	a.crash()
	waitLeading(b)
	b.waitFor("the adoption", func() bool { return b.logs.count("adopted a runner in flight", "purpose", "plan") == 1 })
	close(gate)
	b.waitFor("v2 applied by the new leader", func() bool { return b.logs.count("apply finished", "result", "succeeded") == 1 })
	assert.Equal(t, "v2", readFile(t, filepath.Join(out, "app.txt")))
	assert.Equal(t, 1, b.logs.count("resuming a runner adopted after a restart"))

	b.waitFor("every task to end", func() bool {
		for _, tk := range fake.Tasks() {
			if tk.LastStatus != "STOPPED" {
				return false
			}
		}
		return true
	})
	var defs []string
	for _, tk := range fake.Tasks() {
		defs = append(defs, tk.TaskDefinition)
		assert.Zero(t, *tk.ExitCode, "runner output: %s", tk.ExitReason)
	}
	assert.Equal(t, []string{"trueup-plan", "trueup-apply", "trueup-plan", "trueup-apply"}, defs, "no task was started twice")
}

// freeAddr is a loopback address no one listens on (yet).
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}
