package forgetext

import (
	"fmt"
	"regexp"
	"strconv"
	"unicode/utf8"
)

// markerRE matches the hidden marker that starts each part of a plan comment.
var markerRE = regexp.MustCompile(`^<!-- trueup:plan pr=(\d+) part=(\d+) -->`)

// Marker is the hidden first line of part (from 1) of pull request pr's plan comment.
func Marker(pr, part int) string { return fmt.Sprintf("<!-- trueup:plan pr=%d part=%d -->", pr, part) }

// ParseMarker returns the part number of a comment body that starts with pull request pr's marker.
// A body with another pull request's marker, or none, is not a part.
func ParseMarker(body string, pr int) (part int, ok bool) {
	m := markerRE.FindStringSubmatch(body)
	if m == nil || m[1] != strconv.Itoa(pr) {
		return 0, false
	}
	part, err := strconv.Atoi(m[2])
	return part, err == nil
}

// Truncate cuts s to at most n characters, ending with "…" when it cut.
func Truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
