package forgetext

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
)

// hugeReport renders to about 2 MB: six big plans among small stacks, one with a notice.
func hugeReport() reconciler.PullReport {
	report := reconciler.PullReport{Number: 21, Head: headRev, Stacks: []reconciler.StackReport{
		{Stack: "app", Revision: headRev, Result: reconciler.ResultSucceeded, Add: 1, Rendered: smallPlan},
	}}
	for i := 1; i <= 6; i++ {
		report.Stacks = append(report.Stacks, reconciler.StackReport{
			Stack: fmt.Sprintf("big-%d", i), Revision: headRev, Result: reconciler.ResultSucceeded, Add: 2000, Rendered: bigPlan(350_000),
		})
	}
	report.Stacks = append(report.Stacks,
		reconciler.StackReport{Stack: "db", Revision: headRev, Result: reconciler.ResultFailed, Error: "Error: permission denied"},
		reconciler.StackReport{Stack: "dns", Revision: headRev, Result: reconciler.ResultNoChanges},
		reconciler.StackReport{Stack: "iam", Revision: headRev, Result: reconciler.ResultNoChanges,
			Notice: "This branch changes `branch_role_arn`: the new role is used only after the merge."},
	)
	return report
}

// partHeader matches the first line of a part after the first.
var partHeader = regexp.MustCompile(`^\(continued, part (\d+) of (\d+)\)`)

// checkParts checks what every list of parts for GitHub must hold.
func checkParts(t *testing.T, pr int, parts []string, limit int) {
	t.Helper()
	require.LessOrEqual(t, len(parts), MaxCommentParts)
	for k, p := range parts {
		assert.LessOrEqual(t, len(p), limit, "part %d", k+1)
		assert.LessOrEqual(t, utf8.RuneCountInString(Marker(pr, k+1)+"\n"+p), 65536, "part %d", k+1)
		assert.True(t, utf8.ValidString(p), "part %d", k+1)
		checkBalanced(t, p)
		if k > 0 {
			assert.True(t, strings.HasPrefix(p, fmt.Sprintf("(continued, part %d of %d)\n\n", k+1, len(parts))), "part %d", k+1)
		}
	}
}

// outline is a readable digest of parts too big for a golden file: each part's size, first and last lines.
func outline(parts []string) string {
	var b strings.Builder
	for k, p := range parts {
		lines := strings.Split(p, "\n")
		head, tail := 4, 6
		if k == len(parts)-1 {
			tail = 12
		}
		fmt.Fprintf(&b, "===== part %d: %d bytes, %d lines =====\n", k+1, len(p), len(lines))
		if len(lines) <= head+tail {
			b.WriteString(p + "\n")
			continue
		}
		b.WriteString(strings.Join(lines[:head], "\n") + "\n[…]\n" + strings.Join(lines[len(lines)-tail:], "\n") + "\n")
	}
	return b.String()
}

func TestPartsCapsAHugeRendering(t *testing.T) {
	// A rendering that fits is Split's parts, uncut.
	for _, stacks := range []int{1, 8} {
		small := reconciler.PullReport{Number: 23, Head: headRev}
		for i := range stacks {
			small.Stacks = append(small.Stacks, reconciler.StackReport{
				Stack: fmt.Sprintf("s%d", i), Revision: headRev, Result: reconciler.ResultSucceeded, Add: 1, Rendered: bigPlan(60_000),
			})
		}
		want := Split(Render(small), CommentLimit)
		require.LessOrEqual(t, len(want), MaxCommentParts)
		assert.Equal(t, want, Parts(small, CommentLimit), "%d stacks", stacks)
	}

	report := hugeReport()
	body := Render(report)
	require.Greater(t, len(body), 2_000_000)
	uncut := Split(body, CommentLimit)
	require.Greater(t, len(uncut), 30)

	parts := Parts(report, CommentLimit)
	require.Len(t, parts, MaxCommentParts)
	checkParts(t, report.Number, parts, CommentLimit)

	// The first parts are those of the whole rendering, but for their "of N".
	for k := range MaxCommentParts - 1 {
		want := partHeader.ReplaceAllString(uncut[k], fmt.Sprintf("(continued, part %d of %d)", k+1, MaxCommentParts))
		assert.Equal(t, want, parts[k], "part %d", k+1)
	}
	// What is kept of the plans is their beginning, and the last part is nearly full.
	kept, all := fencedLines(parts), fencedLines(uncut)
	require.Greater(t, len(kept), 1000)
	assert.Equal(t, all[:len(kept)-1], kept[:len(kept)-1])
	assert.Greater(t, len(parts[MaxCommentParts-1]), CommentLimit-1000)

	last := parts[MaxCommentParts-1]
	assert.Contains(t, last, "⚠️ **This plan is too long for 10 comments")
	assert.Contains(t, last, "`trueup status --pull 21`")
	assert.Contains(t, last, "`GET /api/v1/pulls/21`")
	assert.Contains(t, last, "the end of `big-2`'s section, and the sections of `big-3`, `big-4`, `big-5`, `big-6`, `db` and 1 more stack.")
	golden(t, "parts_huge.golden", outline(parts))
}

func TestPartsCutInsideALineLongerThanAPart(t *testing.T) {
	// One 1 MB line, as a provider's error can be: the cut falls inside it.
	report := reconciler.PullReport{Number: 22, Head: headRev, Stacks: []reconciler.StackReport{
		{Stack: "app", Revision: headRev, Result: reconciler.ResultFailed, Error: "Error: " + strings.Repeat("é", 500_000)},
	}}
	parts := Parts(report, CommentLimit)
	require.Len(t, parts, MaxCommentParts)
	checkParts(t, report.Number, parts, CommentLimit)
	last := parts[MaxCommentParts-1]
	assert.Greater(t, len(last), CommentLimit-1000, "the last part is filled up to the note")
	assert.Contains(t, last[:200], "<details open><summary>app — ❌ plan failed (continued)</summary>")
	tail := last[len(last)-300:]
	assert.True(t, strings.HasSuffix(last, "éé\n```\n</details>\n\n"+
		"> ⚠️ **This plan is too long for 10 comments: its last 4 lines (416 kB) are left out**: the end of `app`'s section.\n"+
		"> Read the whole plan with `trueup status --pull 22`, or from the daemon's API: `GET /api/v1/pulls/22`."), tail)
}

func TestPartsSmallLimits(t *testing.T) {
	report := hugeReport()
	for _, limit := range []int{200, 2000, 20000} {
		parts := Parts(report, limit)
		require.Len(t, parts, MaxCommentParts, "limit %d", limit)
		for k, p := range parts {
			assert.LessOrEqual(t, len(p), limit, "limit %d part %d", limit, k+1)
			checkBalanced(t, p)
		}
		if limit >= 2000 {
			assert.Contains(t, parts[MaxCommentParts-1], "`trueup status --pull 21`", "limit %d", limit)
		}
	}
}

func TestCutNoteWords(t *testing.T) {
	tests := []struct {
		n    int
		want string
	}{{0, "0"}, {999, "999"}, {1000, "1,000"}, {1234567, "1,234,567"}}
	for _, tt := range tests {
		assert.Equal(t, tt.want, thousands(tt.n))
	}
	assert.Equal(t, "1 byte", byteSize(1))
	assert.Equal(t, "999 bytes", byteSize(999))
	assert.Equal(t, "65 kB", byteSize(64_600))
	assert.Equal(t, "1.4 MB", byteSize(1_400_000))
	assert.Equal(t, "the section of `a`", sectionsOf([]string{"`a`"}))
	assert.Equal(t, "the sections of `a` and `b`", sectionsOf([]string{"`a`", "`b`"}))
	assert.Equal(t, "the sections of `a`, `b`, `c`, `d`, `e` and 2 more stacks",
		sectionsOf([]string{"`a`", "`b`", "`c`", "`d`", "`e`", "`f`", "`g`"}))
}
