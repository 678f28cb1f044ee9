package gitlab

import "strings"

// noQuickActions keeps GitLab from running anything in body as a quick action. GitLab runs a line
// of a note that starts with "/" ("/approve", "/merge") with the rights of the note's author,
// trueup's bot, unless it is inside a code block; plan notes and replies show text a branch chose
// (stack names, Terraform's output). Such lines outside code fences get a zero-width space in front,
// which shows nothing and makes them plain text.
func noQuickActions(body string) string {
	lines := strings.SplitAfter(body, "\n")
	fence := ""
	changed := false
	for i, line := range lines {
		trimmed := strings.TrimLeft(line, " ")
		switch {
		case fence != "":
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
		case strings.HasPrefix(trimmed, "```"), strings.HasPrefix(trimmed, "~~~"):
			fence = trimmed[:3]
		case strings.HasPrefix(trimmed, "/"):
			lines[i] = "\u200b" + line
			changed = true
		}
	}
	if !changed {
		return body
	}
	return strings.Join(lines, "")
}
