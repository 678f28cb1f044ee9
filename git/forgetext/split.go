package forgetext

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Split cuts a rendered comment body into parts of at most limit bytes each (bytes, not characters,
// so the bound also holds for GitHub's character limit). A body that fits is returned whole.
//
// Split keeps the text readable in every part:
//   - the heading and the summary table stay whole in part 1; when they alone do not fit, table rows are
//     dropped from the end (never cut) and replaced by a "…and N more stacks" row;
//   - cuts fall only between lines; a line longer than a part is cut at a rune boundary;
//   - a cut inside a code fence and/or a <details> block closes them at the end of the part and reopens them
//     at the start of the next one (the summary marked "(continued)"), so each part is balanced;
//   - parts after the first start with "(continued, part K of N)".
//
// A limit too small to hold the reopened blocks is exceeded rather than looping forever.
func Split(body string, limit int) []string {
	if len(body) <= limit {
		return []string{body}
	}
	// Trailing blank lines would only make empty parts.
	lines := strings.Split(strings.TrimRight(body, "\n"), "\n")
	head, rest := splitHead(lines, limit)
	// The part header's length depends on the number of parts: try widths until the count fits.
	for digits := 1; ; digits++ {
		parts := splitLines(head, rest, limit, digits)
		if len(fmt.Sprint(len(parts))) <= digits {
			return parts
		}
	}
}

// continuedHeader is the first line of every part after the first.
func continuedHeader(k, n int) string { return fmt.Sprintf("(continued, part %d of %d)", k, n) }

// splitHead separates the lines up to the end of the first table (the summary) from the rest, dropping
// rows when the head alone does not fit in limit.
func splitHead(lines []string, limit int) (head, rest []string) {
	start, end := -1, -1
	for i, l := range lines {
		if isFence(l) || strings.HasPrefix(l, "<details") {
			break
		}
		if strings.HasPrefix(l, "|") {
			if start < 0 {
				start = i
			}
			end = i + 1
		} else if start >= 0 {
			break
		}
	}
	if start < 0 {
		return nil, lines
	}
	head, rest = lines[:end], lines[end:]
	if textLen(head) <= limit || end-start < 3 {
		return head, rest
	}
	// Keep the header and separator rows, then as many rows as fit with the "more" row.
	cols := strings.Count(lines[start], "|") - 1
	rows := lines[start+2 : end]
	for keep := len(rows) - 1; keep >= 0; keep-- {
		more := "| …and " + fmt.Sprint(len(rows)-keep) + " more stacks |" + strings.Repeat(" |", max(cols-1, 0))
		h := append(append(append([]string{}, lines[:start+2]...), rows[:keep]...), more)
		if textLen(h) <= limit || keep == 0 {
			return h, rest
		}
	}
	return head, rest
}

// textLen is the length of lines joined by newlines.
func textLen(lines []string) int {
	n := 0
	for _, l := range lines {
		n += len(l) + 1
	}
	return max(n-1, 0)
}

// block is an open code fence or <details> block.
type block struct {
	fence  string   // the fence's backticks or tildes; empty for <details>
	reopen []string // the lines that reopen it at the start of a part
	close  string   // the line that closes it
}

// blockState tracks the blocks open at a point in the text.
type blockState []block

func (s blockState) inFence() bool { return len(s) > 0 && s[len(s)-1].fence != "" }

// after returns the state after line.
func (s blockState) after(line string) blockState {
	if s.inFence() {
		top := s[len(s)-1]
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, top.fence) && strings.Trim(t, top.fence[:1]) == "" {
			return s[:len(s)-1]
		}
		return s
	}
	switch {
	case isFence(line):
		t := strings.TrimLeft(line, " ")
		c := t[:1]
		f := t[:len(t)-len(strings.TrimLeft(t, c))]
		return append(s[:len(s):len(s)], block{fence: f, reopen: []string{t}, close: f})
	case strings.HasPrefix(line, "<details"):
		if strings.Contains(line, "</details>") {
			return s
		}
		reopen := "<details><summary>(continued)</summary>"
		if i := strings.Index(line, "</summary>"); i >= 0 {
			reopen = line[:i] + " (continued)</summary>"
		}
		return append(s[:len(s):len(s)], block{reopen: []string{reopen, ""}, close: "</details>"})
	case strings.HasPrefix(strings.TrimSpace(line), "</details>"):
		if len(s) > 0 {
			return s[:len(s)-1]
		}
	}
	return s
}

// isFence reports whether line opens a code fence (at most three spaces of indentation).
func isFence(line string) bool {
	t := strings.TrimLeft(line, " ")
	return len(line)-len(t) <= 3 && (strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~"))
}

// closeLines are the lines that close every open block, innermost first.
func (s blockState) closeLines() []string {
	var out []string
	for i := len(s) - 1; i >= 0; i-- {
		out = append(out, s[i].close)
	}
	return out
}

// reopenLines are the lines that reopen every open block, outermost first.
func (s blockState) reopenLines() []string {
	var out []string
	for _, b := range s {
		out = append(out, b.reopen...)
	}
	return out
}

// lineCost is what lines add to a part, newlines included.
func lineCost(lines []string) int {
	n := 0
	for _, l := range lines {
		n += len(l) + 1
	}
	return n
}

func splitLines(head, rest []string, limit, digits int) []string {
	header := continuedHeader(1, 1)
	header = strings.Replace(header, "1 of 1", strings.Repeat("9", digits)+" of "+strings.Repeat("9", digits), 1)

	var (
		parts   [][]string
		cur     []string
		used    int // lineCost(cur)
		fresh   int // lines in cur that are only the part header and reopened blocks
		state   blockState
		pending = rest
	)
	// Part 1's head counts as content (fresh stays 0): if nothing else fits, it is a part of its own.
	cur = append(cur, head...)
	used = lineCost(head)

	finish := func() {
		closing := state.closeLines()
		cur = append(cur, closing...)
		parts = append(parts, cur)
		cur = append([]string{header, ""}, state.reopenLines()...)
		used = lineCost(cur)
		fresh = len(cur)
	}
	// fits reports whether a line of n bytes fits before the blocks of next are closed.
	fits := func(n int, next blockState) bool {
		return used+n+1+lineCost(next.closeLines())-1 <= limit
	}
	for len(pending) > 0 {
		line := pending[0]
		next := state.after(line)
		if fits(len(line), next) {
			cur = append(cur, line)
			used += len(line) + 1
			state = next
			pending = pending[1:]
			continue
		}
		if len(cur) > fresh {
			finish()
			continue
		}
		// The line does not fit even in an empty part: cut it, keeping the blocks as they are
		// until its last piece.
		room := limit - used - 1 - lineCost(state.closeLines()) + 1
		cut := runeCut(line, room)
		cur = append(cur, line[:cut])
		used += cut + 1
		pending = append([]string{line[cut:]}, pending[1:]...)
		finish()
	}
	if len(cur) > fresh || len(parts) == 0 {
		cur = append(cur, state.closeLines()...)
		parts = append(parts, cur)
	}

	out := make([]string, len(parts))
	for k, p := range parts {
		if k > 0 {
			p[0] = continuedHeader(k+1, len(parts))
		}
		out[k] = strings.Join(p, "\n")
	}
	return out
}

// runeCut returns the largest prefix length of s not above n that ends on a rune boundary, at least one
// rune so that cutting always makes progress.
func runeCut(s string, n int) int {
	if n >= len(s) {
		return len(s)
	}
	for i := max(n, 0); i > 0; i-- {
		if utf8.RuneStart(s[i]) {
			return i
		}
	}
	_, size := utf8.DecodeRuneInString(s)
	return size
}
