package forgetext

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/trueup/trueup/reconciler"
)

const (
	headRev  = reconciler.Revision("0123456789abcdef0123456789abcdef01234567")
	mergeRev = reconciler.Revision("fedcba9876543210fedcba9876543210fedcba98")
)

const smallPlan = `Terraform will perform the following actions:

  # local_file.hello will be created
  + resource "local_file" "hello" {
      + content  = "hello"
      + filename = "out/hello.txt"
    }

Plan: 1 to add, 0 to change, 0 to destroy.`

func TestRender(t *testing.T) {
	tests := []struct {
		name   string
		report reconciler.PullReport
	}{
		{"every_result", reconciler.PullReport{
			Number: 7, Head: headRev,
			Stacks: []reconciler.StackReport{
				{Stack: "app", Revision: headRev, Result: reconciler.ResultSucceeded, Add: 1, Rendered: smallPlan},
				{Stack: "dns", Revision: headRev, Result: reconciler.ResultNoChanges},
				{Stack: "net@prod", Revision: headRev, Result: reconciler.ResultNoChanges},
				{Stack: "db", Revision: headRev, Result: reconciler.ResultFailed,
					Error: "Error: Unsupported argument\n\n  on main.tf line 3, in resource \"local_file\" \"x\":\n   3:   bogus = 1"},
				{Stack: "queue", Revision: headRev, Result: reconciler.ResultRunning},
				{Stack: "edge", Revision: headRev, Result: reconciler.ResultHeld, Change: 1, Rendered: smallPlan,
					HeldReason: "the merged plan differs from the reviewed one:\n~ local_file.hello (update)"},
			},
		}},
		{"applied", reconciler.PullReport{
			Number: 8, Head: headRev,
			Stacks: []reconciler.StackReport{
				{Stack: "app", Revision: headRev, Result: reconciler.ResultSucceeded, Add: 1, Rendered: smallPlan,
					Applied: &reconciler.RunRecord{Branch: "main", Revision: mergeRev, Result: reconciler.ResultSucceeded}},
				{Stack: "db", Revision: headRev, Result: reconciler.ResultSucceeded, Delete: 1, Rendered: "  - resource \"local_file\" \"old\" {}",
					Applied: &reconciler.RunRecord{Branch: "main", Revision: mergeRev, Result: reconciler.ResultFailed, Error: "Error: permission denied"}},
				{Stack: "dns", Revision: headRev, Result: reconciler.ResultNoChanges,
					Applied: &reconciler.RunRecord{Branch: "main", Revision: mergeRev, Result: reconciler.ResultNoChanges}},
			},
		}},
		{"fork_not_planned", reconciler.PullReport{
			Number: 9, Head: headRev,
			Note: "This pull request comes from a fork: trueup does not plan it.\nA maintainer can push the branch to this repository.",
		}},
		{"notice", reconciler.PullReport{
			Number: 11, Head: headRev,
			Stacks: []reconciler.StackReport{
				{Stack: "app", Revision: headRev, Result: reconciler.ResultSucceeded, Add: 1, Rendered: smallPlan,
					Notice: "This branch changes `on_apply` in `.trueup.yaml`.\nThe change takes effect only after the merge: this plan ran with main's settings."},
				{Stack: "iam", Revision: headRev, Result: reconciler.ResultNoChanges,
					Notice: "  This branch changes `branch_role_arn`: the new role is used only after the merge.\n"},
				{Stack: "net@prod", Revision: headRev, Result: reconciler.ResultRunning, Notice: "This branch changes `role_arn`."},
				{Stack: "dns", Revision: headRev, Result: reconciler.ResultNoChanges, Notice: " \n "},
				{Stack: "edge", Revision: headRev, Result: reconciler.ResultHeld, Change: 1, Rendered: smallPlan,
					HeldReason: "the merged plan differs from the reviewed one", Notice: "This branch changes `on_apply`."},
			},
		}},
		{"stale", reconciler.PullReport{
			Number: 12, Head: headRev,
			Stacks: []reconciler.StackReport{
				{Stack: "app", Revision: headRev, Result: reconciler.ResultSucceeded, Add: 1, Rendered: smallPlan, Stale: true},
				{Stack: "dns", Revision: headRev, Result: reconciler.ResultNoChanges, Stale: true},
				{Stack: "db", Revision: headRev, Result: reconciler.ResultSucceeded, Add: 1, Rendered: smallPlan},
			},
		}},
		{"fence_in_plan", reconciler.PullReport{
			Number: 10, Head: headRev,
			Stacks: []reconciler.StackReport{
				{Stack: "docs|site", Revision: headRev, Result: reconciler.ResultSucceeded, Change: 1,
					Rendered: "  ~ content = <<-EOT\n      ```\n      ````go\n      </details>\n    EOT"},
			},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			golden(t, "render_"+tt.name+".golden", Render(tt.report))
		})
	}
}

func TestFenceFor(t *testing.T) {
	tests := []struct{ text, want string }{
		{"plain", "```"},
		{"``` inside", "````"},
		{"  ````` indented", "``````"},
		{"a ``` mid-line", "```"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, fenceFor(tt.text), tt.text)
	}
}

func TestTruncate(t *testing.T) {
	long := strings.Repeat("é", 200)
	got := Truncate(long, 140)
	assert.Len(t, []rune(got), 140)
	assert.True(t, strings.HasSuffix(got, "…"))
	assert.Equal(t, "short", Truncate("short", 140))
}

// CommentLimit is GitHub's comment limit less room for the marker: the tightest host's.
const CommentLimit = 65000

func TestParseMarker(t *testing.T) {
	part, ok := ParseMarker(Marker(12, 3)+"\nbody", 12)
	assert.True(t, ok)
	assert.Equal(t, 3, part)
	_, ok = ParseMarker(Marker(12, 3), 1)
	assert.False(t, ok, "another pull request's marker")
	_, ok = ParseMarker("quoted: "+Marker(12, 3), 12)
	assert.False(t, ok, "the marker must start the body")
}

// bigPlan is a deterministic Terraform-like rendering of at least size bytes.
func bigPlan(size int) string {
	var b strings.Builder
	b.WriteString("Terraform will perform the following actions:\n")
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "\n  # local_file.f[%d] will be created\n", i)
		fmt.Fprintf(&b, "  + resource \"local_file\" \"f\" {\n")
		fmt.Fprintf(&b, "      + content  = \"file number %d of the big plan\"\n", i)
		fmt.Fprintf(&b, "      + filename = \"out/%04d.txt\"\n", i)
		b.WriteString("      + id       = (known after apply)\n    }\n")
	}
	return b.String()
}
