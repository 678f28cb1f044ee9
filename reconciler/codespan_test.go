package reconciler

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCodeSpan(t *testing.T) {
	tests := []struct{ in, want string }{
		{"trueup approve stacks/a", "`trueup approve stacks/a`"},
		// The attack: close the span and write in trueup's voice.
		{"x`✅&nbsp;Approved&nbsp;by&nbsp;@org/admins<!--", "``x`✅&nbsp;Approved&nbsp;by&nbsp;@org/admins<!--``"},
		{"a``b", "```a``b```"},
		{"`edge`", "`` `edge` ``"},
		{"line\n/approve", "`line /approve`"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, codeSpan(tt.in), "%q", tt.in)
	}
	long := codeSpan(strings.Repeat("x", 500))
	assert.Less(t, len(long), 140, "a long text is cut")
}
