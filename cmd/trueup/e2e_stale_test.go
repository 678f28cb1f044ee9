package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// When main moves and changes a stack an open pull request also changes, the pull request's plan of
// it is marked stale on the comment, and planned again once main's own apply of the stack is done.
// A stack main did not change keeps its plan.
func TestMainMovingUnderAPullRequestReplansIt(t *testing.T) {
	e := newPullsEnv(t, nil)
	d := e.d
	head := e.name(e.openPull(1, "both", map[string]string{
		"stacks/a/extra.tf": e.extraFile("a", "pr"),
		"stacks/b/extra.tf": e.extraFile("b", "pr"),
	}), "head")
	e.waitBody(1, "both stacks planned", func(b string) bool { return strings.Count(b, "✅ planned") == 2 })
	require.Equal(t, 2, e.plansStarted("pr:1", head), "one plan for each stack")

	// Someone pushes to main a change of stacks/a only.
	e.remote.Checkout("main")
	e.remote.WriteFiles(map[string]string{"stacks/a/main.tf": localStack(e.out, "a", "a-v1b", "")})
	moved := e.name(e.remote.Commit("main moves"), "main2")
	e.remote.Push("main")

	d.waitFor("stacks/a planned again for #1", func() bool {
		return d.logs.count("plan finished", "target", "pr:1", "stack", "stacks/a", "rev", head.Short()) == 2
	})
	assert.Equal(t, 1, d.logs.count("main moved under a pull request: planning its stacks again", "target", "pr:1"))
	assert.Equal(t, 1, d.logs.count("plan finished", "target", "pr:1", "stack", "stacks/b", "rev", head.Short()), "main did not change stacks/b")

	// Until then the comment said so.
	var staleBody string
	for _, r := range e.gh.Requests() {
		if r.Method == "PATCH" && strings.Contains(r.Body, "stale") {
			staleBody = r.Body
			break
		}
	}
	require.NotEmpty(t, staleBody, "the comment was edited to mark the plan stale")
	assert.Contains(t, staleBody, "`stacks/a` | ✅ planned · ⚠️ stale")
	assert.NotContains(t, staleBody, "`stacks/b` | ✅ planned · ⚠️ stale")

	// The re-plan ran against main's new state: it started after main's apply of stacks/a finished.
	applied := d.logs.entries("apply finished", "stack", "stacks/a", "rev", moved.Short())
	replans := d.logs.entries("plan started", "target", "pr:1", "stack", "stacks/a")
	require.Len(t, applied, 1)
	require.Len(t, replans, 2)
	appliedAt, err := time.Parse(time.RFC3339Nano, applied[0]["time"].(string))
	require.NoError(t, err)
	replannedAt, err := time.Parse(time.RFC3339Nano, replans[1]["time"].(string))
	require.NoError(t, err)
	assert.False(t, replannedAt.Before(appliedAt), "the re-plan waited for main's apply")

	body := e.waitBody(1, "the stale mark gone", func(b string) bool { return !strings.Contains(b, "stale") && strings.Count(b, "✅ planned") == 2 })
	assert.Len(t, e.gh.Comments(1), 1)
	assert.NotContains(t, body, "Stale")
}
