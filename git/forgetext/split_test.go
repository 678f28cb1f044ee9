package forgetext

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
)

// checkBalanced fails unless every code fence and <details> block opened in part is closed in it.
// It is written apart from Split's own tracking so that it can disagree with it.
func checkBalanced(t *testing.T, part string) {
	t.Helper()
	fence, depth := "", 0
	for _, line := range strings.Split(part, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case fence != "":
			if strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, "`") == "" {
				fence = ""
			}
		case strings.HasPrefix(trimmed, "```"):
			fence = trimmed[:len(trimmed)-len(strings.TrimLeft(trimmed, "`"))]
		case strings.HasPrefix(trimmed, "<details"):
			depth++
		case strings.HasPrefix(trimmed, "</details>"):
			depth--
			require.GreaterOrEqual(t, depth, 0, "</details> without <details> in part:\n%s", part)
		}
	}
	assert.Empty(t, fence, "unclosed fence in part:\n%s", part)
	assert.Zero(t, depth, "unclosed <details> in part:\n%s", part)
}

// fencedLines returns the lines inside code fences, across all parts in order.
func fencedLines(parts []string) []string {
	var out []string
	for _, part := range parts {
		fence := ""
		for _, line := range strings.Split(part, "\n") {
			trimmed := strings.TrimSpace(line)
			switch {
			case fence != "" && strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, "`") == "":
				fence = ""
			case fence != "":
				out = append(out, line)
			case strings.HasPrefix(trimmed, "```"):
				fence = trimmed[:len(trimmed)-len(strings.TrimLeft(trimmed, "`"))]
			}
		}
	}
	return out
}

// contentLines drops the "(continued…)" header and its blank line from every part after the first.
func contentLines(parts []string) []string {
	var out []string
	for k, part := range parts {
		lines := strings.Split(part, "\n")
		if k > 0 {
			lines = lines[2:]
		}
		out = append(out, lines...)
	}
	return out
}

func TestSplit(t *testing.T) {
	tenLines := strings.TrimSuffix(strings.Repeat("line......\n", 10), "\n")
	tests := []struct {
		name  string
		body  string
		limit int
		parts int
		// content is what the parts' lines, without headers, must join to (when not empty).
		content string
	}{
		{name: "fits", body: "short\n", limit: 100, parts: 1, content: "short\n"},
		{name: "lines", body: tenLines, limit: 60, parts: 3, content: tenLines},
		{name: "hard_cut", body: strings.Repeat("x", 250), limit: 100, parts: 4},
		{name: "hard_cut_utf8", body: strings.Repeat("é", 100), limit: 51, parts: 8},
		{name: "fence_and_details", body: "### h\n\n<details><summary>app — +1 ~0 -0</summary>\n\n```\n" +
			strings.TrimSuffix(strings.Repeat("  + resource\n", 12), "\n") + "\n```\n\n</details>\n", limit: 160, parts: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts := Split(tt.body, tt.limit)
			require.Len(t, parts, tt.parts, strings.Join(parts, "\n=====\n"))
			for k, p := range parts {
				assert.LessOrEqual(t, len(p), tt.limit, "part %d", k+1)
				assert.True(t, utf8.ValidString(p), "part %d", k+1)
				checkBalanced(t, p)
				if k > 0 {
					assert.True(t, strings.HasPrefix(p, fmt.Sprintf("(continued, part %d of %d)\n\n", k+1, len(parts))), p)
				}
			}
			if tt.content != "" {
				assert.Equal(t, strings.TrimSuffix(tt.content, "\n"), strings.TrimSuffix(strings.Join(contentLines(parts), "\n"), "\n"))
			}
			if strings.HasPrefix(tt.name, "hard_cut") {
				assert.Equal(t, tt.body, strings.Join(contentLines(parts), ""))
			}
			golden(t, "split_"+tt.name+".golden", strings.Join(parts, "\n===== next part =====\n"))
		})
	}
}

func TestSplitKeepsSummaryTableWhole(t *testing.T) {
	report := reconciler.PullReport{Number: 3, Head: headRev}
	for i := range 40 {
		report.Stacks = append(report.Stacks, reconciler.StackReport{
			Stack: fmt.Sprintf("stacks/service-%02d", i), Revision: headRev, Result: reconciler.ResultSucceeded,
			Add: 1, Rendered: smallPlan,
		})
	}
	const limit = 1000
	parts := Split(Render(report), limit)
	require.Greater(t, len(parts), 1)
	first := parts[0]
	assert.LessOrEqual(t, len(first), limit)
	assert.Contains(t, first, "| Stack | Result |")
	assert.Regexp(t, `\| …and \d+ more stacks \|`, first)
	for _, line := range strings.Split(first, "\n") {
		if strings.HasPrefix(line, "|") {
			assert.True(t, strings.HasSuffix(line, "|"), "cut table row %q", line)
		}
	}
	for k, p := range parts {
		assert.LessOrEqual(t, len(p), limit, "part %d", k+1)
		checkBalanced(t, p)
	}
	// No table row is carried into later parts.
	for _, p := range parts[1:] {
		assert.NotContains(t, p, "| `stacks/")
	}
}

func TestSplitBigPlan(t *testing.T) {
	plan := bigPlan(70000)
	require.GreaterOrEqual(t, len(plan), 70000)
	report := reconciler.PullReport{Number: 12, Head: headRev, Stacks: []reconciler.StackReport{
		{Stack: "app", Revision: headRev, Result: reconciler.ResultSucceeded, Add: 1, Rendered: smallPlan},
		{Stack: "big", Revision: headRev, Result: reconciler.ResultSucceeded, Add: 1000, Rendered: plan},
		{Stack: "dns", Revision: headRev, Result: reconciler.ResultNoChanges},
	}}
	parts := Split(Render(report), CommentLimit)
	require.Len(t, parts, 2)
	for k, p := range parts {
		assert.LessOrEqual(t, len(Marker(report.Number, k+1))+1+len(p), 65536, "part %d", k+1)
		checkBalanced(t, p)
	}
	assert.Contains(t, parts[1], "<details><summary>big — +1000 ~0 -0 (continued)</summary>")
	assert.Contains(t, parts[1], "No changes: `dns`.")

	// The fenced text of every part, joined, is exactly both plans.
	want := append(strings.Split(smallPlan, "\n"), strings.Split(strings.TrimSuffix(plan, "\n"), "\n")...)
	assert.Equal(t, want, fencedLines(parts))

	golden(t, "split_big_plan.golden", strings.Join(parts, "\n===== next part =====\n"))
}
