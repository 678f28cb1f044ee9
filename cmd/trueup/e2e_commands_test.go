package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// replyIDs matches the comment ids in answers, which differ between the forges' stand-ins.
var replyIDs = regexp.MustCompile(`comment=\d+`)

// A merge held because its plan differs from the one shown is released from the thread: a reader's
// command and the author's own approval are refused, a writer's approval applies it, and a
// redelivered webhook of that approval approves nothing twice.
func TestCommandApprovesAHeldMerge(t *testing.T) {
	for _, forge := range forgeNames {
		t.Run(forge, func(t *testing.T) {
			e := newEnvOn(t, forge, nil)
			d := e.d
			e.grant("alice", true)
			e.grant("bob", true)
			e.grant("eve", false)

			e.name(e.open(1, "a-v2", map[string]string{"stacks/a/main.tf": localStack(e.out, "a", "a-v2", "")}), "head")
			e.waitBody(1, "the plan of #1", func(b string) bool { return strings.Contains(b, "✅ planned") })
			// Someone deletes the file by hand: the merge would now create it, not replace it as reviewed.
			require.NoError(t, os.Remove(filepath.Join(e.out, "a.txt")))
			merge := e.name(e.remote.Merge("a-v2", "Merge #1"), "merge")
			d.waitFor("the apply held", func() bool {
				return d.logs.count("apply held: the merged plan differs from the reviewed one", "stack", "stacks/a", "rev", merge.Short()) == 1
			})
			ref := map[string]string{"github": "#1", "gitlab": "!1"}[forge] // "#1" is an issue on GitLab
			held := e.waitBody(1, "the hold shown", func(b string) bool { return strings.Contains(b, "⏸ held") })
			assert.Contains(t, held, "differs from the plan shown on "+ref+" ")
			e.merged(1, merge)
			d.waitFor("the merge recorded", func() bool { return d.logs.count("pull request merged", "pr", "1") == 1 })

			// The webhooks name bob, a writer, as the author of every comment: only the API is believed.
			e.command(1, "eve", "trueup approve", "d-eve")
			e.waitReplies(1, 1)
			e.command(1, "alice", "trueup approve stacks/a", "d-alice")
			e.waitReplies(1, 2)
			assert.NoFileExists(t, filepath.Join(e.out, "a.txt"), "nothing applied on a refused command")
			assert.Zero(t, d.logs.count("held apply approved"))

			bob := e.command(1, "bob", "trueup approve", "d-bob")
			d.waitFor("the approved merge applied", func() bool {
				return d.logs.count("apply finished", "stack", "stacks/a", "rev", merge.Short()) == 1
			})
			assert.Equal(t, "a-v2", readFile(t, filepath.Join(e.out, "a.txt")))
			replies := e.waitReplies(1, 3)
			assertGolden(t, "commands_approve_"+forge, replyIDs.ReplaceAllString(e.normalise(strings.Join(replies, "\n----- next comment -----\n")), "comment=<id>"))

			// The same comment announced again (a new delivery id): nothing is approved or answered twice.
			e.redeliver(1, bob, "d-bob-again")
			d.waitFor("the redelivery seen", func() bool { return d.logs.count("comment already handled", "pr", "1") == 1 })
			assert.Equal(t, 1, d.logs.count("held apply approved", "stack", "stacks/a"))
			assert.Len(t, e.replies(1), 3)
			assert.Len(t, e.threadOf(1, "<!-- trueup:plan "), 1, "the plan comment is still one")

			// After a restart the answer in the thread is what tells: the command is not run again.
			require.NoError(t, d.stop())
			e.d = startDaemon(t, e.cfg)
			e.redeliver(1, bob, "d-bob-after-restart")
			e.d.waitFor("the answer found", func() bool {
				return e.d.logs.count("comment command answered before; not run again", "pr", "1", "comment", fmt.Sprint(bob)) == 1
			})
			assert.Zero(t, e.d.logs.count("held apply approved"))
			assert.Len(t, e.replies(1), 3)
		})
	}
}

// A failed apply of a merge runs again on "trueup retry", and a plan on "trueup plan".
func TestCommandRetriesAFailedApply(t *testing.T) {
	for _, forge := range forgeNames {
		t.Run(forge, func(t *testing.T) {
			e := newEnvOn(t, forge, nil)
			d := e.d
			e.grant("bob", true)
			// The apply cannot create the file while a regular file stands where its directory must be
			// (even as root); the plan does not look. A failed create leaves nothing in the state.
			blocker := filepath.Join(t.TempDir(), "blocker")
			require.NoError(t, os.WriteFile(blocker, nil, 0o600))
			flaky := localStack(e.out, "b", "b-v1", "") + `
resource "local_file" "gate" {
  filename = "` + filepath.Join(blocker, "gate.txt") + `"
  content  = "open"
}
`
			head := e.name(e.open(2, "gate", map[string]string{"stacks/b/main.tf": flaky}), "head")
			e.waitBody(2, "the plan of #2", func(b string) bool { return strings.Contains(b, "✅ planned") })

			// A plan command plans again at the same head.
			e.command(2, "bob", "trueup plan stacks/b", "d-plan")
			d.waitFor("the second plan", func() bool {
				return d.logs.count("plan finished", "target", "pr:2", "rev", head.Short()) == 2
			})

			merge := e.name(e.remote.Merge("gate", "Merge #2"), "merge")
			e.merged(2, merge)
			d.waitFor("the apply failed", func() bool {
				return d.logs.count("apply failed", "stack", "stacks/b", "rev", merge.Short()) >= 1
			})
			e.waitBody(2, "the failure shown", func(b string) bool { return strings.Contains(b, "apply failed") })

			require.NoError(t, os.Remove(blocker))
			e.command(2, "bob", "trueup retry", "d-retry")
			d.waitFor("the retried apply", func() bool {
				return d.logs.count("apply finished", "stack", "stacks/b", "rev", merge.Short()) == 1
			})
			replies := e.waitReplies(2, 2)
			assertGolden(t, "commands_retry_"+forge, replyIDs.ReplaceAllString(e.normalise(strings.Join(replies, "\n----- next comment -----\n")), "comment=<id>"))
		})
	}
}
