package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/git/gittest"
	"github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/boltstore"
)

// driftPolicies is the .trueup.yaml of the drift test repository: one stack per policy.
const driftPolicies = `stacks:
  - dir: stacks/fix
  - dir: stacks/held
  - dir: stacks/destroy
    drift:
      allow_destroy: true
  - dir: stacks/big
    drift:
      max_changes: 2
  - dir: stacks/alert
    drift:
      remediate: alert
  - dir: stacks/own
`

// driftRepoFiles is a repository with a stack per drift policy under test; stacks/own keeps its state
// in its own local backend at ownState.
func driftRepoFiles(out, ownState string) map[string]string {
	return map[string]string{
		".trueup.yaml":           driftPolicies,
		"stacks/fix/main.tf":     localStack(out, "fix", "fix-v1", ""),
		"stacks/held/main.tf":    localStack(out, "held", "held-v1", ""),
		"stacks/destroy/main.tf": localStack(out, "destroy", "destroy-v1", ""),
		"stacks/big/main.tf":     fileStack(out, "big", 3),
		"stacks/alert/main.tf":   localStack(out, "alert", "alert-v1", ""),
		"stacks/own/main.tf":     localStack(out, "own", "own-v1", ""),
		"stacks/own/backend.tf":  fmt.Sprintf("terraform {\n  backend \"local\" {\n    path = %q\n  }\n}\n", ownState),
	}
}

// TestDriftIsCorrectedHeldOrAlertedOncePerEpisode runs one daemon over a stack per drift policy,
// drifts them all at once and follows each episode to its end: what was corrected, what was held
// and why, and that every transition reached Slack exactly once, through a Slack outage and a restart.
func TestDriftIsCorrectedHeldOrAlertedOncePerEpisode(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: real git and Terraform")
	}
	out := t.TempDir()
	ownState := filepath.Join(t.TempDir(), "own.tfstate")
	slack := newSlackReceiver(t)
	t.Setenv("SLACK_WEBHOOK_URL", slack.URL())
	files := driftRepoFiles(out, ownState)
	remote := gittest.NewRemote(t)
	remote.CommitAndPush("a stack per drift policy", files)

	dataDir := t.TempDir()
	cfg := testConfig(t, remote.URL(), dataDir)
	cfg.Drift.Interval = 2 * time.Second
	cfg.Slack.WebhookURLEnv = "SLACK_WEBHOOK_URL"
	d := startDaemon(t, cfg)
	d.waitFor("every stack applied", func() bool { return d.logs.count("apply finished", "result", "succeeded") == 6 })
	d.waitFor("the first drift checks", func() bool { return d.logs.count("no drift") >= 6 })

	file := func(name string) string { return filepath.Join(out, name) }
	statePath := func(stack string) string {
		return filepath.Join(dataDir, "state", reconciler.Slug(stack), "terraform.tfstate")
	}
	checks := func(msg, stack string) int { return d.logs.count(msg, "stack", stack) }

	// Drift every stack at once; the subtests follow each episode.
	require.NoError(t, os.Remove(file("fix.txt")))
	require.NoError(t, os.Remove(file("own.txt")))
	require.NoError(t, os.Remove(file("alert.txt")))
	for i := 1; i <= 3; i++ {
		require.NoError(t, os.Remove(file(fmt.Sprintf("big-%d.txt", i))))
	}
	for _, stack := range []string{"held", "destroy"} {
		applyByHand(t, map[string]string{
			"main.tf":  files["stacks/"+stack+"/main.tf"],
			"extra.tf": extraFileResource(file(stack + "-extra.txt")),
		}, statePath("stacks/"+stack))
		require.FileExists(t, file(stack+"-extra.txt"))
	}

	t.Run("a deleted file is recreated with one alert and one resolution", func(t *testing.T) {
		d.waitFor("fix resolved", func() bool { return slack.count("stacks/fix", "drift resolved") == 1 })
		assert.Equal(t, "fix-v1", readFile(t, file("fix.txt")))
		assert.Equal(t, 1, slack.count("stacks/fix", "drift detected"))
		assert.Equal(t, 1, checks("drift corrected", "stacks/fix"))
	})

	t.Run("an edited file is restored with one alert and one resolution", func(t *testing.T) {
		require.NoError(t, os.WriteFile(file("fix.txt"), []byte("edited by hand"), 0o644))
		d.waitFor("fix resolved again", func() bool { return slack.count("stacks/fix", "drift resolved") == 2 })
		assert.Equal(t, "fix-v1", readFile(t, file("fix.txt")))
		assert.Equal(t, 2, slack.count("stacks/fix", "drift detected"), "one alert per episode")
		assert.Equal(t, 2, checks("drift corrected", "stacks/fix"))
	})

	t.Run("a resource only in state is held when allow_destroy is false", func(t *testing.T) {
		d.waitFor("held alert", func() bool { return slack.count("stacks/held", "correction held") == 1 })
		held := slack.delivered("stacks/held", "correction held")[0]
		assert.Contains(t, held.Text, "allow_destroy")
		assert.Contains(t, held.Text, "local_file.extra")
		assertDriftGolden(t, "held_allow_destroy", out, held)

		seen := checks("drift correction held", "stacks/held")
		d.waitFor("another check of the held stack", func() bool { return checks("drift correction held", "stacks/held") > seen })
		assert.Equal(t, "made by hand", readFile(t, file("held-extra.txt")), "the held resource is left alone")
		assert.Equal(t, "held-v1", readFile(t, file("held.txt")))
		assert.Equal(t, 1, slack.count("stacks/held", "correction held"), "a held correction alerts once")
		assert.Zero(t, slack.count("stacks/held", "drift resolved"))
		assert.Zero(t, checks("drift corrected", "stacks/held"))
	})

	t.Run("a resource only in state is destroyed when allow_destroy is true", func(t *testing.T) {
		d.waitFor("destroy resolved", func() bool { return slack.count("stacks/destroy", "drift resolved") == 1 })
		assert.NoFileExists(t, file("destroy-extra.txt"))
		assert.Equal(t, "destroy-v1", readFile(t, file("destroy.txt")))
		assert.Equal(t, 1, slack.count("stacks/destroy", "drift detected"))
		assert.Zero(t, slack.count("stacks/destroy", "correction held"))
	})

	t.Run("max_changes holds a correction that is too large", func(t *testing.T) {
		d.waitFor("held alert", func() bool { return slack.count("stacks/big", "correction held") == 1 })
		held := slack.delivered("stacks/big", "correction held")[0]
		assert.Contains(t, held.Text, "max_changes (2)")
		assertDriftGolden(t, "held_max_changes", out, held)

		seen := checks("drift correction held", "stacks/big")
		d.waitFor("another check of the big stack", func() bool { return checks("drift correction held", "stacks/big") > seen })
		for i := 1; i <= 3; i++ {
			assert.NoFileExists(t, file(fmt.Sprintf("big-%d.txt", i)), "nothing of a held correction is applied")
		}
		assert.Equal(t, 1, slack.count("stacks/big", "correction held"))
		assert.Zero(t, slack.count("stacks/big", "drift detected"))
	})

	t.Run("remediate alert only alerts", func(t *testing.T) {
		d.waitFor("alert", func() bool { return slack.count("stacks/alert", "drift detected") == 1 })
		seen := checks("drift found; alert only", "stacks/alert")
		d.waitFor("another check of the alert stack", func() bool { return checks("drift found; alert only", "stacks/alert") > seen })
		assert.NoFileExists(t, file("alert.txt"), "alert only does not restore")
		assert.Equal(t, 1, slack.count("stacks/alert", "drift detected"))
		assert.Zero(t, slack.count("stacks/alert", "drift resolved"))
		assert.Zero(t, checks("drift corrected", "stacks/alert"))
	})

	t.Run("a stack with its own local backend is corrected", func(t *testing.T) {
		d.waitFor("own resolved", func() bool { return slack.count("stacks/own", "drift resolved") == 1 })
		assert.Equal(t, "own-v1", readFile(t, file("own.txt")))
		assert.Equal(t, 1, slack.count("stacks/own", "drift detected"))
		assert.Contains(t, readFile(t, ownState), "own-v1", "the state is in the stack's own backend")
		assert.NoFileExists(t, statePath("stacks/own"), "trueup does not move a declared absolute local backend")
	})

	t.Run("an alert is delivered once after Slack fails and recovers", func(t *testing.T) {
		// The notifier tries 4 times; failing all of them makes the outbox retry the alert.
		slack.fail(4)
		require.NoError(t, os.Remove(file("fix.txt")))
		d.waitFor("fix resolved a third time", func() bool { return slack.count("stacks/fix", "drift resolved") == 3 })
		assert.Equal(t, "fix-v1", readFile(t, file("fix.txt")))
		assert.Len(t, slack.messages(http.StatusInternalServerError, "stacks/fix", "drift detected"), 4)
		assert.Equal(t, 3, slack.count("stacks/fix", "drift detected"), "the failed alert is delivered exactly once")
		assert.Equal(t, 1, d.logs.count("notification not delivered; it waits in the outbox and is retried", "stack", "stacks/fix"))
	})

	t.Run("a restart in the middle of an episode sends nothing twice", func(t *testing.T) {
		before := slack.headlines()
		require.NoError(t, d.stop())

		d2 := startDaemon(t, cfg)
		d2.waitFor("a check of every drifted stack after the restart", func() bool {
			return d2.logs.count("drift correction held", "stack", "stacks/held") >= 1 &&
				d2.logs.count("drift correction held", "stack", "stacks/big") >= 1 &&
				d2.logs.count("drift found; alert only", "stack", "stacks/alert") >= 1
		})
		require.NoError(t, d2.stop())
		assert.Equal(t, before, slack.headlines(), "no alert is sent again after a restart")
		// Nor is one waiting to be sent.
		store, err := boltstore.Open(filepath.Join(dataDir, "trueup.db"), boltstore.Options{})
		require.NoError(t, err)
		defer store.Close()
		pending, err := store.Outbox(t.Context(), 0)
		require.NoError(t, err)
		assert.Empty(t, pending, "the outbox is empty")
		st, err := store.Stack(t.Context(), "stacks/held")
		require.NoError(t, err)
		assert.True(t, st.Drift.Drifted)
		assert.Contains(t, st.Drift.HeldReason, "allow_destroy")
		assert.Equal(t, 1, slack.count("stacks/held", "correction held"))
		assert.FileExists(t, file("held-extra.txt"))
		assert.Zero(t, d2.logs.count("apply started"), "nothing is re-applied after a restart")
	})
	slack.checkWellFormed()
}
