package aws

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/trueup/trueup/reconciler"
)

const sha = reconciler.Revision("0123456789abcdef0123456789abcdef01234567")

func TestSessionName(t *testing.T) {
	long := strings.Repeat("very-long-directory/", 5) + "stack"
	tests := []struct {
		name  string
		stack string
		rev   reconciler.Revision
		want  string
	}{
		{"plain", "network", sha, "trueup-network-01234567"},
		{"slashes become dashes", "envs/prod/network", sha, "trueup-envs-prod-network-01234567"},
		{"workspace at sign is allowed", "envs/app@blue", sha, "trueup-envs-app@blue-01234567"},
		{"root stack", ".", sha, "trueup-root-01234567"},
		{"allowed punctuation kept", "a_b+c=d,e.f", sha, "trueup-a_b+c=d,e.f-01234567"},
		{"spaces, colons and unicode replaced", "my stack:é", sha, "trueup-my-stack---01234567"},
		{"long name keeps the sha", long, sha, ("trueup-" + strings.ReplaceAll(long, "/", "-"))[:55] + "-01234567"},
		{"no revision", "network", "", "trueup-network"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sessionName(tt.stack, tt.rev)
			assert.Equal(t, tt.want, got)
			assert.LessOrEqual(t, len(got), 64)
			assert.GreaterOrEqual(t, len(got), 2)
			assert.Regexp(t, `^[\w+=,.@-]+$`, got)
		})
	}
}

func TestSessionTags(t *testing.T) {
	tests := []struct {
		name string
		key  sessionKey
		want [][2]string
	}{
		{
			"apply on main",
			sessionKey{stack: "envs/prod@blue", purpose: "apply", branch: "main", rev: sha},
			[][2]string{{"trueup:stack", "envs/prod@blue"}, {"trueup:purpose", "apply"}, {"trueup:trusted", "true"},
				{"trueup:branch", "main"}, {"trueup:commit", string(sha)}},
		},
		{
			"untrusted pull request plan",
			sessionKey{stack: "app", purpose: "plan", branch: "feature/x", untrusted: true, rev: sha, pr: 42},
			[][2]string{{"trueup:stack", "app"}, {"trueup:purpose", "plan"}, {"trueup:trusted", "false"},
				{"trueup:branch", "feature/x"}, {"trueup:commit", string(sha)}, {"trueup:pull_request", "42"}},
		},
		{
			"no branch, no commit",
			sessionKey{stack: "app", purpose: "drift"},
			[][2]string{{"trueup:stack", "app"}, {"trueup:purpose", "drift"}, {"trueup:trusted", "true"}},
		},
		{
			"branch sanitized and cut to 256 characters",
			sessionKey{stack: "app", purpose: "plan", branch: "a;b*" + strings.Repeat("c", 300), untrusted: true},
			[][2]string{{"trueup:stack", "app"}, {"trueup:purpose", "plan"}, {"trueup:trusted", "false"},
				{"trueup:branch", "a-b-" + strings.Repeat("c", 252)}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, sessionTags(tt.key))
		})
	}
}

func TestTagValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{"envs/prod@blue", "envs/prod@blue"},
		{"a b_c.d:e/f=g+h-i@j", "a b_c.d:e/f=g+h-i@j"},
		{"café ünïcode 日本", "café ünïcode 日本"},
		{"semi;colon*star#hash", "semi-colon-star-hash"},
		{strings.Repeat("x", 300), strings.Repeat("x", 256)},
		{strings.Repeat("é", 300), strings.Repeat("é", 256)},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tagValue(tt.in), tt.in)
	}
}

func TestDurationSeconds(t *testing.T) {
	tests := []struct {
		in   int64
		want int32
	}{{0, 3600}, {60, 900}, {-5, 900}, {900, 900}, {7200, 7200}, {100000, 43200}}
	for _, tt := range tests {
		assert.Equal(t, tt.want, durationSeconds(tt.in), tt.in)
	}
}
