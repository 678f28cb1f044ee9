package deliveries

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRecentForgetsTheOldestFirst(t *testing.T) {
	r := NewRecent(2)
	assert.True(t, r.Add("a"))
	assert.False(t, r.Add("a"), "a redelivery")
	assert.True(t, r.Add("b"))
	assert.True(t, r.Add("c"), "pushes a out")
	assert.False(t, r.Add("b"))
	assert.False(t, r.Add("c"))
	assert.True(t, r.Add("a"), "a was forgotten")
}
