package layout

import (
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestModuleCacheParsesOnlyWhatChanged: with a cache, a second load of the same repository parses
// nothing again, a change re-parses only its directory, and what a parse warned about is still
// reported from the cache.
func TestModuleCacheParsesOnlyWhatChanged(t *testing.T) {
	files := map[string]string{
		"modules/m/main.tf":  module(),
		"stacks/a/main.tf":   module("../../modules/m"),
		"stacks/b/main.tf":   module("../../modules/m"),
		"stacks/bad/main.tf": "resource \"x\" {\n",
	}
	cache := &ModuleCache{}
	load := func(fsys fstest.MapFS) *Layout {
		l, err := LoadWith(fsys, Options{Cache: cache})
		require.NoError(t, err)
		return l
	}
	first := load(repo(files))
	parsed := cache.misses
	require.Positive(t, parsed)

	second := load(repo(files))
	assert.Equal(t, parsed, cache.misses, "nothing is parsed again")
	assert.Equal(t, first.Stacks, second.Stacks)
	assert.Equal(t, first.Warnings, second.Warnings, "warnings come from the cache too")
	require.NotEmpty(t, second.Warnings)

	files["stacks/a/main.tf"] = module("../../modules/m") + "\n# changed\n"
	third := load(repo(files))
	assert.Equal(t, parsed+1, cache.misses, "only the changed directory is parsed")
	assert.Equal(t, first.Stacks, third.Stacks)

	uncached, err := Load(repo(files))
	require.NoError(t, err)
	assert.Equal(t, uncached.Stacks, third.Stacks, "the cache changes nothing of the result")
	assert.Equal(t, uncached.Warnings, third.Warnings)
}
