package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/trueup/trueup/reconciler"
)

const statusExamples = `  trueup status
  trueup status --addr http://trueup.internal:8080
  trueup status --json | jq '.stacks[] | select(.drift.drifted)'
  trueup status --pull 12 | less           # every stack's full plan for pull request #12
  trueup status --pull 12 --json | jq -r '.plans[] | select(.result == "failed") | .error'
`

// maxErrorWidth is how much of a run's error the status table shows; --json has all of it.
const maxErrorWidth = 60

func cmdStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf clientFlags
	var asJSON bool
	var pull int
	fs := newFlagSet("status", "trueup status [--pull NUMBER] [--json] [--addr URL] [--token-env NAME]", statusExamples, stderr)
	fs.BoolVar(&asJSON, "json", false, "print the daemon's JSON answer instead of a table")
	fs.Func("pull", "show the plans of this pull request, each with Terraform's full text", func(v string) error {
		n, err := strconv.ParseUint(v, 10, 31)
		if err != nil || n == 0 {
			return errors.New("want the number of a pull request")
		}
		pull = int(n)
		return nil
	})
	cf.register(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "trueup status: unexpected argument %q\n", pos[0])
		return errUsage
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	what, path := "status", "/api/v1/stacks"
	if pull != 0 {
		what, path = fmt.Sprintf("status --pull %d", pull), "/api/v1/pulls/"+strconv.Itoa(pull)
	}
	raw, err := c.get(ctx, path)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if asJSON {
		var out bytes.Buffer
		// Indent keeps trailing white space, so trim it and end with exactly one newline.
		if err := json.Indent(&out, bytes.TrimSpace(raw), "", "  "); err != nil {
			return fmt.Errorf("%s: answer of trueup at %s is not JSON: %w", what, c.base, err)
		}
		out.WriteByte('\n')
		_, err := stdout.Write(out.Bytes())
		return err
	}
	if pull != 0 {
		var body struct {
			Plans []reconciler.BranchPlan `json:"plans"`
		}
		if err := json.Unmarshal(raw, &body); err != nil {
			return fmt.Errorf("%s: decode answer of trueup at %s: %w", what, c.base, err)
		}
		return renderPull(stdout, pull, body.Plans, time.Now())
	}
	var body struct {
		Stacks []reconciler.StackStatus `json:"stacks"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return fmt.Errorf("%s: decode answer of trueup at %s: %w", what, c.base, err)
	}
	if err := printLeader(ctx, c, stdout); err != nil {
		return err
	}
	return renderStatus(stdout, body.Stacks, time.Now())
}

// renderStatus writes the stacks as a table; now dates the last runs.
func renderStatus(w io.Writer, stacks []reconciler.StackStatus, now time.Time) error {
	if len(stacks) == 0 {
		_, err := io.WriteString(w, "no stacks yet: trueup has not read the repository (see its log, or GET /readyz)\n")
		return err
	}
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STACK\tAPPLIED\tLAST RUN\tDRIFT\tSTATE\tERROR")
	for _, s := range stacks {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n",
			printable(s.Name, false), orDash(s.AppliedRev.Short()), lastRunCell(s.LastRun, now), driftCell(s.Drift), stateCell(s),
			errorCell(s.LastRun))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// tabwriter pads the cell before an empty ERROR; drop the trailing blanks.
	var out strings.Builder
	for line := range strings.Lines(buf.String()) {
		out.WriteString(strings.TrimRight(line, " \n"))
		out.WriteByte('\n')
	}
	_, err := io.WriteString(w, out.String())
	return err
}

// renderPull writes the plans of pull request number as text for people: per stack, a heading with
// the result, the revision and age, what held or applied it, then Terraform's full text (or its error).
// Everything in a plan may come from the branch, so control characters are shown escaped.
func renderPull(w io.Writer, number int, plans []reconciler.BranchPlan, now time.Time) error {
	var b strings.Builder
	fmt.Fprintf(&b, "pull request #%d: %d stack(s) planned\n", number, len(plans))
	for _, p := range plans {
		r := p.Report()
		b.WriteString("\n=== " + printable(p.Stack, false) + ": " + pullResult(r))
		if r.Result == reconciler.ResultSucceeded || r.Result == reconciler.ResultHeld || r.Applied != nil {
			fmt.Fprintf(&b, ", %d to add, %d to change, %d to destroy", p.Add, p.Change, p.Delete)
		}
		b.WriteString("\nrevision " + orDash(printable(p.Revision.Short(), false)))
		if !p.Time.IsZero() {
			b.WriteString(", planned " + ago(now.Sub(p.Time)))
		}
		b.WriteString("\n")
		labelled(&b, "held: ", r.HeldReason)
		labelled(&b, "note: ", p.Notice)
		if a := p.Applied; a != nil {
			fmt.Fprintf(&b, "apply of %s on %s: %s\n", printable(a.Revision.Short(), false), printable(a.Branch, false),
				strings.ReplaceAll(string(a.Result), "_", " "))
		}
		text := p.Rendered
		if p.Result == reconciler.ResultFailed {
			text = p.Error
		}
		block(&b, text)
		if a := p.Applied; a != nil && a.Error != "" {
			block(&b, a.Error)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// pullResult names a plan's result as the pull request comment does, in words.
func pullResult(r reconciler.StackReport) string {
	if a := r.Applied; a != nil {
		switch a.Result {
		case reconciler.ResultSucceeded, reconciler.ResultNoChanges:
			return "applied"
		case reconciler.ResultRunning:
			return "applying"
		default:
			return "apply failed"
		}
	}
	switch r.Result {
	case reconciler.ResultSucceeded:
		return "planned"
	case reconciler.ResultFailed:
		return "plan failed"
	case reconciler.ResultRunning:
		return "planning"
	default:
		return printable(strings.ReplaceAll(string(r.Result), "_", " "), false)
	}
}

// labelled writes text after label, its further lines indented under the first.
func labelled(b *strings.Builder, label, text string) {
	text = strings.TrimSpace(text)
	if text == "" {
		return
	}
	indent := "\n" + strings.Repeat(" ", len(label))
	b.WriteString(label + strings.ReplaceAll(printable(text, true), "\n", indent) + "\n")
}

// block writes text, which may span many lines, after a blank line.
func block(b *strings.Builder, text string) {
	text = strings.TrimRight(text, " \t\n")
	if strings.TrimSpace(text) == "" {
		return
	}
	b.WriteString("\n" + printable(text, true) + "\n")
}

// printable returns s safe to print on a terminal. Text from a branch or a provider could otherwise
// move the cursor, rewrite lines with a carriage return, set the window title (ANSI escapes), or
// reorder what is shown (bidirectional overrides): such characters are shown escaped, as \x1b or
// \u202e. Newlines and tabs are kept when multiline, escaped otherwise.
func printable(s string, multiline bool) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return unprintable(r, multiline) }) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case !unprintable(r, multiline):
			b.WriteRune(r)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

func unprintable(r rune, multiline bool) bool {
	switch {
	case r == '\n' || r == '\t':
		return !multiline
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f: // C0, DEL, C1 (0x9b is a one-byte CSI)
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return true // bidirectional embeddings, overrides, isolates and marks
	}
	return false
}

func lastRunCell(r *reconciler.RunRecord, now time.Time) string {
	if r == nil {
		return "-"
	}
	at := r.Finished
	if at.IsZero() {
		at = r.Started
	}
	cell := string(r.Kind) + " " + strings.ReplaceAll(string(r.Result), "_", " ")
	if !at.IsZero() {
		cell += ", " + ago(now.Sub(at))
	}
	return cell
}

func driftCell(d reconciler.DriftState) string {
	switch {
	case d.HeldReason != "":
		return "held"
	case d.Drifted && len(d.Resources) > 0:
		return "drifted " + strconv.Itoa(len(d.Resources))
	case d.Drifted:
		return "drifted"
	case d.LastChecked.IsZero():
		return "-" // never checked
	default:
		return "in sync"
	}
}

// stateCell is the one thing happening to the stack, most urgent first. A held apply shows its
// revision, which `trueup approve` needs.
func stateCell(s reconciler.StackStatus) string {
	switch {
	case s.Running:
		return "running"
	case s.Held != nil:
		return "held " + s.Held.Revision.Short()
	case s.Pending:
		return "pending"
	case s.Removed:
		return "removed"
	default:
		return "-"
	}
}

func errorCell(r *reconciler.RunRecord) string {
	if r == nil || r.Error == "" {
		return ""
	}
	first, _, _ := strings.Cut(strings.TrimSpace(r.Error), "\n")
	return truncate(printable(strings.ReplaceAll(first, "\t", " "), false), maxErrorWidth)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ago formats an age for people: "just now", "45s ago", "5m ago", "3h ago", "2d ago".
func ago(d time.Duration) string {
	switch {
	case d < time.Second:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	default:
		return fmt.Sprintf("%dd ago", int(d.Hours()/24))
	}
}
