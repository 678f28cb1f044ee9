package aws

import (
	"strconv"
	"strings"
	"unicode"

	"github.com/trueup/trueup/reconciler"
)

// STS limits (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html).
const (
	maxSessionName = 64
	maxTagValue    = 256
	minDuration    = 900   // seconds
	maxDuration    = 43200 // seconds; role chaining (an ECS task role assuming a role) allows only 3600
)

// Session tag keys, visible in CloudTrail and usable in IAM conditions (aws:PrincipalTag/trueup:stack).
const (
	tagStack       = "trueup:stack"
	tagCommit      = "trueup:commit"
	tagPullRequest = "trueup:pull_request"
	tagPurpose     = "trueup:purpose"
	tagBranch      = "trueup:branch"
	// tagTrusted is "false" for branch and pull request code. trueup:branch alone proves nothing:
	// a pull request's head branch is named by its author.
	tagTrusted = "trueup:trusted"
)

// sessionName is "trueup-<stack>-<short sha>" made valid for STS: characters outside [\w+=,.@-]
// become '-', and a name longer than 64 characters loses the end of its stack part, never the sha,
// so CloudTrail still names the commit.
func sessionName(stack string, rev reconciler.Revision) string {
	if stack == "." || stack == "" {
		stack = "root"
	}
	suffix := ""
	if rev != "" {
		suffix = "-" + sanitize(rev.Short(), sessionNameRune)
	}
	prefix := "trueup-" + sanitize(stack, sessionNameRune)
	if len(prefix)+len(suffix) > maxSessionName {
		prefix = prefix[:maxSessionName-len(suffix)] // ASCII only after sanitize: byte slicing is safe
	}
	return prefix + suffix
}

// sessionTags are the session's tags: the stack, the purpose, the trust, the branch when there is
// one, the full commit and the pull request when there is one.
func sessionTags(k sessionKey) [][2]string {
	tags := [][2]string{
		{tagStack, tagValue(k.stack)},
		{tagPurpose, tagValue(k.purpose)},
		{tagTrusted, strconv.FormatBool(!k.untrusted)},
	}
	if k.branch != "" {
		tags = append(tags, [2]string{tagBranch, tagValue(k.branch)})
	}
	if k.rev != "" {
		tags = append(tags, [2]string{tagCommit, tagValue(string(k.rev))})
	}
	if k.pr > 0 {
		tags = append(tags, [2]string{tagPullRequest, strconv.Itoa(k.pr)})
	}
	return tags
}

// tagValue makes v valid as an STS session tag value: characters outside [\p{L}\p{Z}\p{N}_.:/=+\-@]
// become '-', and at most 256 characters are kept.
func tagValue(v string) string {
	v = sanitize(v, tagValueRune)
	if r := []rune(v); len(r) > maxTagValue {
		v = string(r[:maxTagValue])
	}
	return v
}

func sanitize(s string, ok func(rune) bool) string {
	return strings.Map(func(r rune) rune {
		if ok(r) {
			return r
		}
		return '-'
	}, s)
}

// sessionNameRune is STS's [\w+=,.@-] for RoleSessionName; \w is ASCII there.
func sessionNameRune(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return strings.ContainsRune("_+=,.@-", r)
}

// tagValueRune is STS's [\p{L}\p{Z}\p{N}_.:/=+\-@] for session tag values.
func tagValueRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.In(r, unicode.Z) || unicode.IsNumber(r) || strings.ContainsRune("_.:/=+-@", r)
}

// durationSeconds is d in whole seconds within STS's limits; zero means one hour.
func durationSeconds(d int64) int32 {
	switch {
	case d == 0:
		return 3600
	case d < minDuration:
		return minDuration
	case d > maxDuration:
		return maxDuration
	}
	return int32(d)
}
