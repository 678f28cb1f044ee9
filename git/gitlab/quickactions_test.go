package gitlab

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestNoQuickActions(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text\n", "plain text\n"},
		{"No changes: x\n/approve\n/merge\n", "No changes: x\n\u200b/approve\n\u200b/merge\n"},
		{"  /label ~x\n", "\u200b  /label ~x\n"},
		{"```\n/approve inside a fence is shown as is\n```\n/close\n", "```\n/approve inside a fence is shown as is\n```\n\u200b/close\n"},
		{"~~~diff\n/x\n~~~\n", "~~~diff\n/x\n~~~\n"},
		{"a path a/b is fine\n", "a path a/b is fine\n"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, noQuickActions(tt.in), "%q", tt.in)
	}
}
