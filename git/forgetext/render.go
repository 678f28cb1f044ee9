// Package forgetext is the text trueup shows on a pull or merge request, whatever the code host: the plan
// comment rendered from a report (Render), cut into balanced parts that fit the host's comment size limit
// (Split), at most MaxCommentParts of them (Parts), each starting with its hidden marker (Marker).
package forgetext

import (
	"fmt"
	"html"
	"strings"

	"github.com/trueup/trueup/reconciler"
)

// Render turns a pull request report into the markdown of trueup's plan comment: a heading, the optional
// note, a summary table with one row per stack (in the report's order), one collapsible section per stack
// that has something to show (a plan with changes, an error, a hold, a failed apply, a notice), and one
// line naming every stack without changes. Terraform's own text is always inside a code fence long
// enough that nothing in the text can close it. Render is pure; Split cuts its output to fit the host's
// limit, and Parts caps the number of parts.
func Render(report reconciler.PullReport) string {
	body, _ := render(report)
	return body
}

// section is where one stack's section lies in a rendering.
type section struct {
	stack string
	// start is the offset of the section's first line; end that of the line after its last line of
	// content (blank lines and the closing "</details>" follow).
	start, end int
}

// render is Render that also returns where each stack's section is, in order.
func render(report reconciler.PullReport) (string, []section) {
	var (
		b        strings.Builder
		sections []section
	)
	fmt.Fprintf(&b, "### trueup plan for `%s`\n", report.Head.Short())
	if note := strings.TrimSpace(report.Note); note != "" {
		b.WriteString("\n")
		quote(&b, note)
	}
	if len(report.Stacks) == 0 {
		if report.Note == "" {
			b.WriteString("\nNo stacks are affected by this pull request.\n")
		}
		return b.String(), nil
	}

	b.WriteString("\n| Stack | Result | Add | Change | Destroy | Revision |\n")
	b.WriteString("|---|---|--:|--:|--:|---|\n")
	for _, s := range report.Stacks {
		fmt.Fprintf(&b, "| `%s` | %s | %d | %d | %d | `%s` |\n",
			tableCell(s.Stack), resultLabel(s), s.Add, s.Change, s.Delete, s.Revision.Short())
	}

	var unchanged []string
	for _, s := range report.Stacks {
		if !hasSection(s) {
			if s.Result == reconciler.ResultNoChanges {
				unchanged = append(unchanged, "`"+s.Stack+"`")
			}
			continue
		}
		b.WriteString("\n")
		start := b.Len()
		renderSection(&b, s)
		content := strings.TrimSuffix(b.String(), "</details>\n")
		sections = append(sections, section{stack: s.Stack, start: start, end: len(strings.TrimRight(content, "\n")) + 1})
	}
	if len(unchanged) > 0 {
		fmt.Fprintf(&b, "\nNo changes: %s.\n", strings.Join(unchanged, ", "))
	}
	return b.String(), sections
}

// resultLabel is the Result column of a stack's row.
func resultLabel(s reconciler.StackReport) string {
	if s.Stale && s.Applied == nil {
		return planLabel(s) + " · ⚠️ stale"
	}
	return planLabel(s)
}

// planLabel is the Result column without the stale mark.
func planLabel(s reconciler.StackReport) string {
	if s.Applied != nil {
		switch s.Applied.Result {
		case reconciler.ResultSucceeded, reconciler.ResultNoChanges:
			return "✅ applied"
		case reconciler.ResultRunning:
			return "⏳ applying"
		default:
			return "❌ apply failed"
		}
	}
	switch s.Result {
	case reconciler.ResultSucceeded:
		return "✅ planned"
	case reconciler.ResultNoChanges:
		return "no changes"
	case reconciler.ResultFailed:
		return "❌ failed"
	case reconciler.ResultHeld:
		return "⏸ held"
	case reconciler.ResultRunning:
		return "⏳ running"
	case reconciler.ResultInterrupted:
		return "⚠️ interrupted"
	default:
		return string(s.Result)
	}
}

// hasSection reports whether a stack gets its own collapsible section below the table.
func hasSection(s reconciler.StackReport) bool {
	if s.Applied != nil && s.Applied.Result == reconciler.ResultFailed || notice(s) != "" {
		return true
	}
	switch s.Result {
	case reconciler.ResultFailed, reconciler.ResultHeld:
		return true
	case reconciler.ResultSucceeded:
		return s.Rendered != "" || s.Add+s.Change+s.Delete > 0
	}
	return false
}

func renderSection(b *strings.Builder, s reconciler.StackReport) {
	counts := fmt.Sprintf("+%d ~%d -%d", s.Add, s.Change, s.Delete)
	var summary string
	open := true
	switch {
	case s.Applied != nil && s.Applied.Result == reconciler.ResultFailed:
		summary = counts + " — ❌ apply failed"
	case s.Result == reconciler.ResultFailed:
		summary = "❌ plan failed"
	case s.Result == reconciler.ResultHeld:
		summary = counts + " — ⏸ held"
	case s.Result != reconciler.ResultSucceeded:
		// Only a notice gives this stack a section.
		summary = resultLabel(s)
	default:
		summary, open = counts, false
		if s.Applied != nil {
			summary += " — ✅ applied"
		}
	}
	// A notice is for every reviewer: its section is open.
	open = open || notice(s) != ""
	tag := "<details>"
	if open {
		tag = "<details open>"
	}
	fmt.Fprintf(b, "%s<summary>%s — %s</summary>\n\n", tag, html.EscapeString(s.Stack), summary)

	if text := notice(s); text != "" {
		quote(b, "⚠️ **Note:** "+text)
		b.WriteString("\n")
	}

	if s.Result == reconciler.ResultHeld && s.HeldReason != "" {
		b.WriteString("**Held:**\n")
		quote(b, strings.TrimRight(s.HeldReason, "\n"))
		b.WriteString("\n")
	}
	if s.Result == reconciler.ResultFailed {
		writeFence(b, s.Error)
	} else if s.Rendered != "" {
		writeFence(b, s.Rendered)
	}
	if a := s.Applied; a != nil {
		switch a.Result {
		case reconciler.ResultSucceeded, reconciler.ResultNoChanges:
			fmt.Fprintf(b, "Applied `%s` on `%s`.\n\n", a.Revision.Short(), a.Branch)
		case reconciler.ResultFailed:
			fmt.Fprintf(b, "Applying `%s` on `%s` failed:\n\n", a.Revision.Short(), a.Branch)
			writeFence(b, a.Error)
		}
	}
	b.WriteString("</details>\n")
}

// staleNotice explains a stale plan.
const staleNotice = "**Stale:** main has moved and changed this stack since this plan was made; trueup is planning it again. " +
	"A merge before that is compared with the plan shown here."

// notice is the stack's notice without surrounding blank space, after the stale warning.
func notice(s reconciler.StackReport) string {
	text := strings.TrimSpace(s.Notice)
	if s.Stale {
		text = strings.TrimSpace(staleNotice + "\n\n" + text)
	}
	return text
}

// quote writes text as a blockquote, one "> " line per line of text.
func quote(b *strings.Builder, text string) {
	for _, line := range strings.Split(text, "\n") {
		b.WriteString(strings.TrimRight("> "+line, " ") + "\n")
	}
}

// writeFence writes text in a plain code fence followed by a blank line. The fence is one backtick
// longer than the longest backtick run that starts a line of text, so the text cannot close it.
func writeFence(b *strings.Builder, text string) {
	text = strings.TrimRight(text, "\n")
	fence := fenceFor(text)
	b.WriteString(fence + "\n")
	if text != "" {
		b.WriteString(text + "\n")
	}
	b.WriteString(fence + "\n\n")
}

func fenceFor(text string) string {
	longest := 2
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimLeft(line, " \t")
		n := len(line) - len(strings.TrimLeft(line, "`"))
		longest = max(longest, n)
	}
	return strings.Repeat("`", longest+1)
}

// tableCell keeps a value from breaking out of its table cell.
func tableCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}
