package forgetext

import (
	"fmt"
	"strings"

	"github.com/trueup/trueup/reconciler"
)

// MaxCommentParts is the most comments one pull request's plan is posted in. A pull request is no place
// to read a plan of megabytes, and a branch's code, which is untrusted and decides how long its plan
// is, must not make trueup post hundreds of comments.
const MaxCommentParts = 10

// maxNamed is how many left-out stacks the cut note names.
const maxNamed = 5

// Parts renders report and splits it (see Split) into at most MaxCommentParts parts of at most limit
// bytes each. When the rendering needs more, its end is left out: it is cut between lines (inside a
// line only when the line is longer than a part) as late as still fits, the code fences and <details>
// blocks open there are closed, and a note follows saying what was left out and where to read the whole
// plan. So the note ends the last part, every part stays balanced, and the parts before the last are
// those of the uncut rendering.
func Parts(report reconciler.PullReport, limit int) []string {
	body, sections := render(report)
	parts := Split(body, limit)
	if len(parts) <= MaxCommentParts {
		return parts
	}
	c := cutter{body: body, sections: sections, pr: report.Number, limit: limit}
	return c.parts(parts)
}

// cutter cuts one rendering to fit MaxCommentParts parts.
type cutter struct {
	body     string
	sections []section
	pr       int
	limit    int
}

// parts searches for the latest cut that fits; uncut are the parts of the whole rendering.
func (c cutter) parts(uncut []string) []string {
	fits := func(at int) bool { return len(c.split(at)) <= MaxCommentParts }
	if !fits(0) {
		// A limit too small even for the note: keep the first parts as they are.
		return uncut[:MaxCommentParts]
	}
	// lo fits and hi does not: the whole rendering needs more parts, and the note only adds to it.
	// Grow from what the parts can hold, so that no try splits much more than that.
	lo, hi := 0, len(c.body)
	for at := MaxCommentParts * c.limit; at < hi; at *= 2 {
		if !fits(at) {
			hi = at
			break
		}
		lo = at
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if fits(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return c.split(lo)
}

// split returns the parts of the rendering cut near at.
func (c cutter) split(at int) []string { return Split(c.cut(c.cutPoint(at)), c.limit) }

// cutPoint is where the rendering is cut for a cut near at: the start of at's line, unless the line
// is cut inside anyway (it is longer than a part), then at, moved back to a rune boundary.
func (c cutter) cutPoint(at int) int {
	start := strings.LastIndexByte(c.body[:at], '\n') + 1
	if at-start <= c.limit {
		return start
	}
	return start + runeCut(c.body[start:], at-start)
}

// cut is the rendering's first at bytes, the lines that close the blocks open there, and the note.
func (c cutter) cut(at int) string {
	kept := strings.TrimRight(c.body[:at], "\n")
	var state blockState
	for _, line := range strings.Split(kept, "\n") {
		state = state.after(line)
	}
	var b strings.Builder
	b.WriteString(kept + "\n")
	for _, line := range state.closeLines() {
		b.WriteString(line + "\n")
	}
	b.WriteString("\n")
	quote(&b, c.note(at))
	return b.String()
}

// note says what a cut at at leaves out and where to read the whole plan.
func (c cutter) note(at int) string {
	left := c.body[at:]
	lines := strings.Count(left, "\n")
	if !strings.HasSuffix(left, "\n") {
		lines++
	}
	var b strings.Builder
	verb := "are"
	if lines == 1 {
		verb = "is"
	}
	fmt.Fprintf(&b, "⚠️ **This plan is too long for %d comments: its last %s (%s) %s left out", MaxCommentParts,
		plural(lines, "line"), byteSize(len(left)), verb)
	var short string
	var out []string
	for _, s := range c.sections {
		switch {
		case s.start >= at:
			out = append(out, "`"+s.stack+"`")
		case at < s.end:
			short = "`" + s.stack + "`"
		}
	}
	b.WriteString("**")
	switch {
	case short != "" && len(out) > 0:
		fmt.Fprintf(&b, ": the end of %s's section, and %s", short, sectionsOf(out))
	case short != "":
		fmt.Fprintf(&b, ": the end of %s's section", short)
	case len(out) > 0:
		fmt.Fprintf(&b, ": %s", sectionsOf(out))
	}
	fmt.Fprintf(&b, ".\nRead the whole plan with `trueup status --pull %d`, or from the daemon's API: `GET /api/v1/pulls/%d`.", c.pr, c.pr)
	return b.String()
}

// sectionsOf names the sections of stacks, up to maxNamed of them:
// "the sections of `a`, `b`, `c`, `d`, `e` and 35 more stacks".
func sectionsOf(stacks []string) string {
	if len(stacks) == 1 {
		return "the section of " + stacks[0]
	}
	if len(stacks) <= maxNamed {
		return "the sections of " + strings.Join(stacks[:len(stacks)-1], ", ") + " and " + stacks[len(stacks)-1]
	}
	return fmt.Sprintf("the sections of %s and %s", strings.Join(stacks[:maxNamed], ", "), plural(len(stacks)-maxNamed, "more stack"))
}

// plural is "1 line" or "23,456 lines".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return thousands(n) + " " + noun + "s"
}

// thousands writes n with comma separators: 1234567 is "1,234,567".
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// byteSize is n bytes for a person: "512 bytes", "64 kB", "1.3 MB".
func byteSize(n int) string {
	switch {
	case n < 1000:
		return plural(n, "byte")
	case n < 1000*1000:
		return fmt.Sprintf("%d kB", (n+500)/1000)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}
