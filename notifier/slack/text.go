package slack

import (
	"strings"
	"unicode/utf8"
)

// Slack's limits for one message (https://api.slack.com/reference/block-kit/blocks).
const (
	maxHeader  = 150  // characters in a header block's text
	maxSection = 3000 // characters in a section block's text
	maxBlocks  = 50   // blocks in one message
	maxText    = 3000 // characters of the top-level fallback text we send (Slack allows more; notifications show less)
)

const ellipsis = "…"

// truncate cuts s to at most max characters (runes), ending in "…" when it cut; it never splits a rune.
func truncate(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	if max < 1 {
		return ""
	}
	head := cutRunes(s, max-1)
	return head + ellipsis
}

// truncateMrkdwn is truncate for text escape wrote: it also never splits an entity ("&amp;"),
// so the cut text stays valid mrkdwn.
func truncateMrkdwn(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	if max < 1 {
		return ""
	}
	head := cutRunes(s, max-1)
	// The longest entity is "&amp;": an '&' in the last 4 bytes with no ';' after it was cut.
	if amp := strings.LastIndexByte(head, '&'); amp >= 0 && len(head)-amp < len("&amp;") && !strings.Contains(head[amp:], ";") {
		head = head[:amp]
	}
	return head + ellipsis
}

// cutRunes returns the first n runes of s, or all of s when it is shorter.
func cutRunes(s string, n int) string {
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}

// escaper escapes the three characters mrkdwn gives a meaning ("<" starts a link or mention).
var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// escape makes s safe as literal text inside mrkdwn.
func escape(s string) string { return escaper.Replace(s) }

// code makes s safe inside a `code span`: a backtick would end it early.
func code(s string) string { return "`" + strings.ReplaceAll(escape(s), "`", "'") + "`" }

// codeBlock makes s safe inside a ``` block, where only a run of three backticks would end it early.
func codeBlock(s string) string { return strings.ReplaceAll(escape(s), "```", "`\u200b``") }
