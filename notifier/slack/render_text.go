package slack

import (
	"fmt"
	"strings"

	"github.com/trueup/trueup/reconciler"
)

// maxTextError bounds the error RenderText shows, like the Slack message does.
const maxTextError = maxSection

// RenderText renders e for a terminal with the same facts and limits as the Slack message:
// the headline, summary, revision and pull request, up to 20 resources, what trueup did, the
// error, and the time. The text ends in a newline.
func RenderText(e reconciler.Event) string {
	var b strings.Builder
	line := func(s string) { b.WriteString(s + "\n") }

	line(headline(e))
	if e.Summary != "" {
		line(e.Summary)
	}
	if f := facts(e); f != "" {
		line(f)
	}
	if rs := resources(e); len(rs) > 0 {
		line("")
		line(fmt.Sprintf("Resources (%d):", len(rs)))
		for i, r := range rs {
			if i == maxResources {
				line("  " + more(len(rs)-i))
				break
			}
			line("  • " + r.Address + r.describe())
		}
	}
	if e.Action != "" || e.Reason != "" {
		line("")
		if e.Action != "" {
			line("What trueup did: " + e.Action)
		}
		if e.Reason != "" {
			line("Held because: " + e.Reason)
		}
	}
	if e.Error != "" {
		line("")
		line("Error:")
		for _, l := range strings.Split(truncate(strings.TrimSpace(e.Error), maxTextError), "\n") {
			line("  " + l)
		}
	}
	if s := stamp(e.Time); s != "" {
		line("")
		line(s)
	}
	return b.String()
}
