package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/git/gittest"
)

// infraRepo pushes a repository with stacks a and b sharing modules/shared, and a standalone stack c.
func infraRepo(t *testing.T, out string) *gittest.Remote {
	remote := gittest.NewRemote(t)
	remote.CommitAndPush("initial infrastructure", map[string]string{
		"modules/shared/main.tf": sharedModule("v1"),
		"stacks/a/main.tf":       localStack(out, "a", "a-v1", "../../modules/shared"),
		"stacks/b/main.tf":       localStack(out, "b", "b-v1", "../../modules/shared"),
		"stacks/c/main.tf":       localStack(out, "c", "c-v1", ""),
		"README.md":              "# infra\n",
	})
	return remote
}

func TestMergedChangesApplyExactlyTheAffectedStacks(t *testing.T) {
	mergedChangesApplyExactlyTheAffectedStacks(t, nil)
}

// mergedChangesApplyExactlyTheAffectedStacks is the core flow, with the daemon's configuration
// changed by configure (the process executor's test runs it too).
func mergedChangesApplyExactlyTheAffectedStacks(t *testing.T, configure func(*Config)) {
	if testing.Short() {
		t.Skip("integration test: real git and Terraform")
	}
	out := t.TempDir()
	remote := infraRepo(t, out)
	cfg := testConfig(t, remote.URL(), t.TempDir())
	if configure != nil {
		configure(&cfg)
	}
	d := startDaemon(t, cfg)

	d.waitFor("first apply of all three stacks", func() bool { return d.logs.count("apply finished", "result", "succeeded") == 3 })
	assert.Equal(t, "a-v1", readFile(t, filepath.Join(out, "a.txt")))
	assert.Equal(t, "v1", readFile(t, filepath.Join(out, "b-shared.txt")))
	assert.Equal(t, "c-v1", readFile(t, filepath.Join(out, "c.txt")))

	// A change to one stack applies that stack only.
	remote.CommitAndPush("c: v2", map[string]string{"stacks/c/main.tf": localStack(out, "c", "c-v2", "")})
	d.waitFor("stack c applied", func() bool { return readFile(t, filepath.Join(out, "c.txt")) == "c-v2" })
	d.waitFor("apply recorded", func() bool { return d.logs.count("apply finished", "stack", "stacks/c") == 2 })

	// A change to the shared module applies both callers, and not c.
	remote.CommitAndPush("shared: v2", map[string]string{"modules/shared/main.tf": sharedModule("v2")})
	d.waitFor("a and b applied", func() bool {
		return d.logs.count("apply finished", "stack", "stacks/a") == 2 && d.logs.count("apply finished", "stack", "stacks/b") == 2
	})
	assert.Equal(t, "v2", readFile(t, filepath.Join(out, "a-shared.txt")))
	assert.Equal(t, "v2", readFile(t, filepath.Join(out, "b-shared.txt")))

	// A change outside every stack applies nothing.
	remote.CommitAndPush("docs", map[string]string{"README.md": "# infra\nmore\n"})
	d.waitFor("the docs commit seen", func() bool { return d.logs.count("main moved") == 4 })
	d.waitFor("all three stacks marked current", func() bool { return d.logs.count("decided", "step", "mark-synced") >= 3 })

	require.NoError(t, d.stop())
	// a and b ran for the initial commit and the module change; c for the initial commit and its own.
	for _, s := range []string{"stacks/a", "stacks/b", "stacks/c"} {
		assert.Equal(t, 2, d.logs.count("apply started", "stack", s), s)
	}
}

func TestRestartReappliesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: real git and Terraform")
	}
	out := t.TempDir()
	remote := infraRepo(t, out)
	cfg := testConfig(t, remote.URL(), t.TempDir())

	first := startDaemon(t, cfg)
	first.waitFor("first apply", func() bool { return first.logs.count("apply finished") == 3 })
	require.NoError(t, first.stop())

	second := startDaemon(t, cfg)
	second.waitFor("every stack decided", func() bool { return second.logs.count("decided", "step", "none") >= 3 })
	require.NoError(t, second.stop())
	assert.Zero(t, second.logs.count("apply started"), "nothing is re-applied after a restart")
	assert.Zero(t, second.logs.count("run was interrupted when trueup last stopped"))
}

func TestInvalidHCLFailsOneStackAndAFixRecoversIt(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: real git and Terraform")
	}
	out := t.TempDir()
	remote := infraRepo(t, out)
	d := startDaemon(t, testConfig(t, remote.URL(), t.TempDir()))
	d.waitFor("first apply", func() bool { return d.logs.count("apply finished") == 3 })

	remote.CommitAndPush("break a, change c", map[string]string{
		"stacks/a/main.tf": "resource \"local_file\" \"main\" {\n  filename = \n}\n",
		"stacks/c/main.tf": localStack(out, "c", "c-v2", ""),
	})
	d.waitFor("a failed", func() bool { return d.logs.count("apply failed", "stack", "stacks/a") == 1 })
	d.waitFor("c applied", func() bool { return readFile(t, filepath.Join(out, "c.txt")) == "c-v2" })
	failed := d.logs.entries("apply failed", "stack", "stacks/a")[0]
	assert.Contains(t, failed["err"], "Invalid expression", "Terraform's own error text is recorded")
	assert.Equal(t, "failed", failed["kind"])

	remote.CommitAndPush("fix a", map[string]string{"stacks/a/main.tf": localStack(out, "a", "a-v3", "../../modules/shared")})
	d.waitFor("a recovered", func() bool { return readFile(t, filepath.Join(out, "a.txt")) == "a-v3" })
	require.NoError(t, d.stop())
	assert.Equal(t, 1, d.logs.count("apply failed"), "the failure is logged once and not retried until a new commit")
}
