package main

import (
	"encoding/json"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler/layout"
)

// runner_fanout's repository: a change to modules/fanout-leaf affects all 200 stacks.
func TestRunnerFanoutRepositoryAffectsEveryStack(t *testing.T) {
	in := infra{Stacks: runnerFanoutStacks, OutDir: "/tmp/out", LockFile: "# lock\n"}
	for i := range in.Stacks {
		in.Direct = append(in.Direct, i)
	}
	fsys := fstest.MapFS{}
	for p, content := range in.Files() {
		fsys[p] = &fstest.MapFile{Data: []byte(content)}
	}
	l, err := layout.Load(fsys)
	require.NoError(t, err)
	assert.Len(t, l.Names(), runnerFanoutStacks)
	assert.Len(t, l.Affected([]string{"modules/fanout-leaf/main.tf"}), runnerFanoutStacks)
}

// daemonWithLog is a daemon whose log is lines (JSON, as the daemon writes it).
func daemonWithLog(t *testing.T, lines ...string) *daemon {
	t.Helper()
	d := &daemon{logs: newLogStore()}
	d.logs.consume(strings.NewReader(strings.Join(lines, "\n")), make(chan string, 1))
	return d
}

func TestPeakInFlight(t *testing.T) {
	line := func(sec int, msg, target string) string {
		ts := time.Date(2026, 12, 2, 12, 0, sec, 0, time.UTC).Format(time.RFC3339Nano)
		return `{"time":"` + ts + `","msg":"` + msg + `","target":"` + target + `"}`
	}
	d := daemonWithLog(t,
		line(1, "plan started", "pr:1"),
		line(2, "plan started", "pr:1"),
		line(2, "plan started", "pr:2"), // another target: not counted
		line(3, "plan finished", "pr:1"),
		line(3, "plan started", "pr:1"), // an end and a start at the same instant: still 2
		line(5, "plan failed", "pr:1"),
		line(6, "plan finished", "pr:1"),
	)
	assert.Equal(t, 2, peakInFlight(d, "pr:1", time.Time{}))
	assert.Equal(t, 1, peakInFlight(d, "pr:2", time.Time{}))
	assert.Equal(t, 0, peakInFlight(d, "pr:3", time.Time{}))
}

// A runner's Terraform calls reach the daemon's log as "runner" lines holding its text log line.
func TestRunnerTerraformTime(t *testing.T) {
	runner := func(stack, line string) string {
		b, err := json.Marshal(map[string]string{"time": "2026-12-02T12:00:00Z", "msg": "runner", "stack": stack, "line": line})
		require.NoError(t, err)
		return string(b)
	}
	d := daemonWithLog(t,
		runner("stacks/s000", `time=2026-12-02T12:00:00Z level=WARN msg="stack declares no backend" stack=stacks/s000`),
		runner("stacks/s000", `time=2026-12-02T12:00:00Z level=DEBUG msg=terraform stack=stacks/s000 op=init duration=153ms ok=true`),
		runner("stacks/s000", `time=2026-12-02T12:00:00Z level=DEBUG msg=terraform stack=stacks/s000 op=plan duration=1.5s ok=true`),
		runner("stacks/s001", `time=2026-12-02T12:00:00Z level=DEBUG msg=terraform stack=stacks/s001 op=plan duration=9s ok=true`),
	)
	total, byOp := runnerTerraformTime(d, "stacks/s000", time.Time{})
	assert.Equal(t, 1653*time.Millisecond, total)
	assert.Equal(t, map[string]time.Duration{"init": 153 * time.Millisecond, "plan": 1500 * time.Millisecond}, byOp)
}
