package main

import (
	"bytes"
	"context"
	"encoding/json"
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
`

// maxErrorWidth is how much of a run's error the status table shows; --json has all of it.
const maxErrorWidth = 60

func cmdStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf clientFlags
	var asJSON bool
	fs := newFlagSet("status", "trueup status [--json] [--addr URL]", statusExamples, stderr)
	fs.BoolVar(&asJSON, "json", false, "print the daemon's JSON answer instead of a table")
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
	raw, err := c.get(ctx, "/api/v1/stacks")
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	if asJSON {
		var out bytes.Buffer
		// Indent keeps trailing white space, so trim it and end with exactly one newline.
		if err := json.Indent(&out, bytes.TrimSpace(raw), "", "  "); err != nil {
			return fmt.Errorf("status: answer of trueup at %s is not JSON: %w", c.base, err)
		}
		out.WriteByte('\n')
		_, err := stdout.Write(out.Bytes())
		return err
	}
	var body struct {
		Stacks []reconciler.StackStatus `json:"stacks"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		return fmt.Errorf("status: decode answer of trueup at %s: %w", c.base, err)
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
			s.Name, orDash(s.AppliedRev.Short()), lastRunCell(s.LastRun, now), driftCell(s.Drift), stateCell(s), errorCell(s.LastRun))
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
	return truncate(strings.ReplaceAll(first, "\t", " "), maxErrorWidth)
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
