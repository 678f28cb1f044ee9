package reconciler

import (
	"strings"
	"unicode"
)

// maxEchoed bounds how much of a person's text a reply shows again.
const maxEchoed = 120

// codeSpan shows s, text someone else wrote (a comment's words, a stack name), as inline code that
// no text can break out of: a fence of more backticks than any run in s, line breaks and other
// control characters as spaces, at most maxEchoed characters. Inside it, markdown, HTML, mentions
// and forge commands are shown, not run.
func codeSpan(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if r := []rune(s); len(r) > maxEchoed {
		s = string(r[:maxEchoed]) + "…"
	}
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}
