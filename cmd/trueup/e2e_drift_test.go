package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
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
	// Someone applies a resource that is not in git into two stacks' state.
	var byHand sync.WaitGroup
	for _, stack := range []string{"held", "destroy"} {
		scratch := t.TempDir()
		byHand.Go(func() {
			err := applyByHand(cfg, scratch, map[string]string{
				"main.tf":  files["stacks/"+stack+"/main.tf"],
				"extra.tf": extraFileResource(file(stack + "-extra.txt")),
			}, statePath("stacks/"+stack))
			assert.NoError(t, err, "apply by hand to %s", stack)
		})
	}
	byHand.Wait()
	require.False(t, t.Failed())
	require.FileExists(t, file("held-extra.txt"))
	require.FileExists(t, file("destroy-extra.txt"))

	const (
		detected = "drift_detected"
		resolved = "drift_resolved"
		held     = "correction_held"
	)
	// expect waits until stack has recorded len(want) events and Slack took as many messages for it,
	// and asserts that both are exactly want, in order: a duplicate fails it.
	expect := func(t *testing.T, d *daemon, stack string, want ...string) {
		t.Helper()
		eventually(t, fmt.Sprintf("%d events for %s", len(want), stack), func() bool { return len(eventsLogged(d.logs, stack)) >= len(want) })
		assert.Equal(t, want, eventsLogged(d.logs, stack), "events recorded for %s", stack)
		eventually(t, fmt.Sprintf("%d Slack messages for %s", len(want), stack), func() bool { return len(slack.verdicts(stack)) >= len(want) })
		assert.Equal(t, verdictsOf(want), slack.verdicts(stack), "messages Slack took for %s", stack)
	}

	t.Run("a deleted file is recreated with one alert and one resolution", func(t *testing.T) {
		expect(t, d, "stacks/fix", detected, resolved)
		assert.Equal(t, "fix-v1", readFile(t, file("fix.txt")))
		assert.Equal(t, 1, checks("drift corrected", "stacks/fix"))
	})

	t.Run("an edited file is restored with one alert and one resolution", func(t *testing.T) {
		require.NoError(t, os.WriteFile(file("fix.txt"), []byte("edited by hand"), 0o644))
		expect(t, d, "stacks/fix", detected, resolved, detected, resolved)
		assert.Equal(t, "fix-v1", readFile(t, file("fix.txt")))
		assert.Equal(t, 2, checks("drift corrected", "stacks/fix"))
	})

	t.Run("a resource only in state is held when allow_destroy is false", func(t *testing.T) {
		expect(t, d, "stacks/held", held)
		msg := slack.delivered("stacks/held", "correction held")[0]
		assert.Contains(t, msg.Text, "allow_destroy")
		assert.Contains(t, msg.Text, "local_file.extra")
		assertDriftGolden(t, "held_allow_destroy", out, msg)
		assert.Equal(t, "made by hand", readFile(t, file("held-extra.txt")), "the held resource is left alone")
		assert.Equal(t, "held-v1", readFile(t, file("held.txt")))
	})

	t.Run("a resource only in state is destroyed when allow_destroy is true", func(t *testing.T) {
		expect(t, d, "stacks/destroy", detected, resolved)
		assert.NoFileExists(t, file("destroy-extra.txt"))
		assert.Equal(t, "destroy-v1", readFile(t, file("destroy.txt")))
	})

	t.Run("max_changes holds a correction that is too large", func(t *testing.T) {
		expect(t, d, "stacks/big", held)
		msg := slack.delivered("stacks/big", "correction held")[0]
		assert.Contains(t, msg.Text, "max_changes (2)")
		assertDriftGolden(t, "held_max_changes", out, msg)
		for i := 1; i <= 3; i++ {
			assert.NoFileExists(t, file(fmt.Sprintf("big-%d.txt", i)), "nothing of a held correction is applied")
		}
	})

	t.Run("remediate alert only alerts", func(t *testing.T) {
		expect(t, d, "stacks/alert", detected)
		assert.NoFileExists(t, file("alert.txt"), "alert only does not restore")
	})

	t.Run("later checks of a held or alerted drift neither alert again nor correct", func(t *testing.T) {
		// Two more checks each: an event of the first is recorded before the second begins.
		seen := map[string]int{
			"stacks/held":  checks("drift correction held", "stacks/held"),
			"stacks/big":   checks("drift correction held", "stacks/big"),
			"stacks/alert": checks("drift found; alert only", "stacks/alert"),
		}
		eventually(t, "two more checks of each", func() bool {
			return checks("drift correction held", "stacks/held") >= seen["stacks/held"]+2 &&
				checks("drift correction held", "stacks/big") >= seen["stacks/big"]+2 &&
				checks("drift found; alert only", "stacks/alert") >= seen["stacks/alert"]+2
		})
		expect(t, d, "stacks/held", held)
		expect(t, d, "stacks/big", held)
		expect(t, d, "stacks/alert", detected)
		for _, stack := range []string{"stacks/held", "stacks/big", "stacks/alert"} {
			assert.Zero(t, checks("drift corrected", stack), stack)
		}
		assert.Equal(t, "made by hand", readFile(t, file("held-extra.txt")))
		assert.NoFileExists(t, file("big-1.txt"))
		assert.NoFileExists(t, file("alert.txt"))
	})

	t.Run("a stack with its own local backend is corrected", func(t *testing.T) {
		expect(t, d, "stacks/own", detected, resolved)
		assert.Equal(t, "own-v1", readFile(t, file("own.txt")))
		assert.Contains(t, readFile(t, ownState), "own-v1", "the state is in the stack's own backend")
		assert.NoFileExists(t, statePath("stacks/own"), "trueup does not move a declared absolute local backend")
	})

	t.Run("an alert is delivered once after Slack fails and recovers", func(t *testing.T) {
		// The notifier tries 4 times; failing all of them makes the outbox retry the alert.
		slack.fail(4)
		require.NoError(t, os.Remove(file("fix.txt")))
		expect(t, d, "stacks/fix", detected, resolved, detected, resolved, detected, resolved)
		assert.Equal(t, "fix-v1", readFile(t, file("fix.txt")))
		assert.Len(t, slack.messages(http.StatusInternalServerError, "stacks/fix", "drift detected"), 4)
		assert.Equal(t, 1, d.logs.count("notification not delivered; it waits in the outbox and is retried", "stack", "stacks/fix"))
	})

	t.Run("a restart in the middle of an episode sends nothing twice", func(t *testing.T) {
		before := slack.headlines()
		require.NoError(t, d.stop())

		d2 := startDaemon(t, cfg)
		eventually(t, "a check of every drifted stack after the restart", func() bool {
			return d2.logs.count("drift correction held", "stack", "stacks/held") >= 1 &&
				d2.logs.count("drift correction held", "stack", "stacks/big") >= 1 &&
				d2.logs.count("drift found; alert only", "stack", "stacks/alert") >= 1
		})
		// Stopping lets the checks finish: the logs then hold every event they recorded.
		require.NoError(t, d2.stop())
		for _, stack := range []string{"stacks/fix", "stacks/held", "stacks/destroy", "stacks/big", "stacks/alert", "stacks/own"} {
			assert.Empty(t, eventsLogged(d2.logs, stack), "no event for %s after the restart", stack)
		}
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
		assert.FileExists(t, file("held-extra.txt"))
		assert.Zero(t, d2.logs.count("apply started"), "nothing is re-applied after a restart")
	})
	slack.checkWellFormed()
}
