package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/git/github/githubtest"
)

// A pull request gets one living comment and a status per affected stack; a new commit edits that
// comment; its merge is applied at the merge commit and the comment says so; its workdir goes away.
func TestPullRequestCommentStatusesAndMerge(t *testing.T) {
	e := newPullsEnv(t, nil)
	d := e.d

	head1 := e.name(e.openPull(1, "add-extra", map[string]string{"stacks/a/extra.tf": e.extraFile("a", "extra-v1")}), "head1")
	body := e.waitBody(1, "the plan of stacks/a on #1", func(b string) bool {
		return strings.Contains(b, "✅ planned") && strings.Contains(b, head1.Short())
	})
	assertGolden(t, "opened", e.normalise(body))
	require.Len(t, e.gh.Comments(1), 1, "one comment per pull request")
	statuses := e.stackStatuses(head1)
	assert.Equal(t, []string{"trueup/stacks/a"}, statusContexts(statuses), "a status for the affected stack only")
	last := statuses["trueup/stacks/a"][len(statuses["trueup/stacks/a"])-1]
	assert.Equal(t, "success", last.State)
	assert.Equal(t, "+1 ~0 -0", last.Description)
	assert.Equal(t, 1, e.plansStarted("pr-1", head1))
	assert.Zero(t, d.logs.count("plan started", "stack", "stacks/b"), "stacks/b is not affected")

	// A new commit edits the same comment.
	head2 := e.name(e.pushToPull(1, "add-extra", map[string]string{"stacks/a/extra.tf": e.extraFile("a", "extra-v2")}), "head2")
	body = e.waitBody(1, "the plan at the new head", func(b string) bool {
		return strings.Contains(b, "`"+head2.Short()+"`") && strings.Contains(b, "✅ planned")
	})
	assertGolden(t, "new_commit", e.normalise(body))
	assert.Len(t, e.gh.Comments(1), 1, "the comment is edited, not posted again")
	assert.Equal(t, "+1 ~0 -0", lastStatus(e.stackStatuses(head2)["trueup/stacks/a"]).Description)
	d.waitFor("the plan workdir of #1", func() bool { return isDir(filepath.Join(e.cfg.DataDir, "work", "pr-1")) })

	// GitHub merges: the API says so before main is pushed, so trueup knows the merge commit.
	e.remote.Checkout("main")
	e.remote.Git("merge", "--quiet", "--no-ff", "--no-edit", "-m", "Merge #1", "add-extra")
	merge := e.name(e.remote.Rev("HEAD"), "merge")
	e.gh.MergePull(1, merge)
	d.waitFor("the merge recorded", func() bool { return d.logs.count("pull request merged", "pr", "1") == 1 })
	e.remote.Push("main")

	d.waitFor("the merge applied", func() bool { return d.logs.count("apply finished", "stack", "stacks/a", "rev", merge.Short()) == 1 })
	assert.Equal(t, "extra-v2", readFile(t, filepath.Join(e.out, "a-extra.txt")))
	body = e.waitBody(1, "the apply shown on #1", func(b string) bool { return strings.Contains(b, "✅ applied") })
	assertGolden(t, "merged", e.normalise(body))
	assert.Len(t, e.gh.Comments(1), 1)
	assert.Zero(t, d.logs.count("apply held: the merged plan differs from the reviewed one"))
	d.waitFor("the workdir of #1 removed", func() bool { return !isDir(filepath.Join(e.cfg.DataDir, "work", "pr-1")) })
}

func statusContexts(m map[string][]githubtest.Status) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func lastStatus(s []githubtest.Status) githubtest.Status {
	if len(s) == 0 {
		return githubtest.Status{}
	}
	return s[len(s)-1]
}

func isDir(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.IsDir()
}

// A merge whose plan differs from the one shown on the pull request (here the real world changed
// after the review) is held, says why on the pull request, and is applied once approved.
func TestPullRequestMergeHeldUntilApproved(t *testing.T) {
	e := newPullsEnv(t, nil)
	d := e.d

	head := e.name(e.openPull(1, "a-v2", map[string]string{"stacks/a/main.tf": localStack(e.out, "a", "a-v2", "")}), "head")
	e.waitBody(1, "the plan of #1", func(b string) bool { return strings.Contains(b, "✅ planned") })
	assert.Equal(t, "+1 ~0 -1", lastStatus(e.stackStatuses(head)["trueup/stacks/a"]).Description, "a content change replaces the file")

	// Someone deletes the file by hand: the merge would now create it, not replace it as reviewed.
	require.NoError(t, os.Remove(filepath.Join(e.out, "a.txt")))
	// GitHub pushes main before its API reports the merge.
	merge := e.name(e.remote.Merge("a-v2", "Merge #1"), "merge")

	d.waitFor("the apply held", func() bool {
		return d.logs.count("apply held: the merged plan differs from the reviewed one", "stack", "stacks/a", "rev", merge.Short()) == 1
	})
	body := e.waitBody(1, "the hold shown on #1", func(b string) bool { return strings.Contains(b, "⏸ held") })
	assertGolden(t, "held", e.normalise(body))
	assert.Contains(t, body, "local_file.main: reviewed replace, now create")
	assert.NoFileExists(t, filepath.Join(e.out, "a.txt"), "nothing applied while held")
	e.gh.MergePull(1, merge)

	code, reply := e.approve("stacks/a", "0000000")
	assert.Equal(t, 409, code, "only the held revision can be approved: %s", reply)
	code, reply = e.approve("stacks/a", merge)
	require.Equal(t, 200, code, reply)

	d.waitFor("the approved merge applied", func() bool {
		return d.logs.count("apply finished", "stack", "stacks/a", "rev", merge.Short()) == 1
	})
	assert.Equal(t, "a-v2", readFile(t, filepath.Join(e.out, "a.txt")))
	body = e.waitBody(1, "the apply shown on #1", func(b string) bool { return strings.Contains(b, "✅ applied") })
	assertGolden(t, "held_then_approved", e.normalise(body))
	assert.Len(t, e.gh.Comments(1), 1)
	assert.Zero(t, d.logs.count("apply started", "stack", "stacks/b", "rev", merge.Short()), "stacks/b is not affected")
}
