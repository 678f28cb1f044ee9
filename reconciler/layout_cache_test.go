package reconciler

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type hashedFS struct {
	fstest.MapFS
	hash string
}

func (h hashedFS) TreeHash() string { return h.hash }

func TestLayoutsAreReadOncePerTree(t *testing.T) {
	loads := 0
	fail := false
	loader := func(fsys fs.FS) (*Layout, error) {
		loads++
		if fail {
			return nil, errors.New("invalid .trueup.yaml")
		}
		return &Layout{Stacks: []Stack{{Name: fmt.Sprint(fsys.(hashedFS).hash)}}}, nil
	}
	var c layoutCache
	a1, err := c.load(hashedFS{hash: "aaaa"}, loader)
	require.NoError(t, err)
	a2, err := c.load(hashedFS{hash: "aaaa"}, loader)
	require.NoError(t, err)
	assert.Same(t, a1, a2, "a tree seen before is not read again")
	b, err := c.load(hashedFS{hash: "bbbb"}, loader)
	require.NoError(t, err)
	assert.Equal(t, "bbbb", b.Stacks[0].Name)
	assert.Equal(t, 2, loads)

	fail = true
	_, err = c.load(hashedFS{hash: "cccc"}, loader)
	require.Error(t, err)
	_, err = c.load(hashedFS{hash: "cccc"}, loader)
	require.Error(t, err)
	assert.Equal(t, 4, loads, "a failed load is not cached")

	fail = false
	_, err = c.load(fstest.MapFS{}, func(fs.FS) (*Layout, error) { loads++; return &Layout{}, nil })
	require.NoError(t, err)
	_, err = c.load(fstest.MapFS{}, func(fs.FS) (*Layout, error) { loads++; return &Layout{}, nil })
	require.NoError(t, err)
	assert.Equal(t, 6, loads, "a tree without a hash is read every time")

	for i := range maxCachedLayouts + 10 {
		_, err := c.load(hashedFS{hash: fmt.Sprint("t", i)}, loader)
		require.NoError(t, err)
	}
	assert.LessOrEqual(t, len(c.byKey), maxCachedLayouts, "the cache is bounded")
}

// Big layouts are bounded by the stacks they hold together, not only by their number: 200 pull
// requests on a 2,000-stack repository must not keep 200 layouts of 2,000 stacks.
func TestLayoutCacheIsBoundedByStacks(t *testing.T) {
	const perLayout = 2000
	loader := func(fsys fs.FS) (*Layout, error) {
		return &Layout{Stacks: make([]Stack, perLayout)}, nil
	}
	var c layoutCache
	for i := range 200 {
		_, err := c.load(hashedFS{hash: fmt.Sprint("pr", i)}, loader)
		require.NoError(t, err)
	}
	held := 0
	for _, l := range c.byKey {
		held += len(l.Stacks)
	}
	assert.LessOrEqual(t, held, maxCachedStacks, "the stacks the cached layouts hold together are bounded")
	assert.Equal(t, held, c.stacks)
	assert.Contains(t, c.byKey, "pr199", "the newest layout is kept")

	huge := func(fs.FS) (*Layout, error) { return &Layout{Stacks: make([]Stack, maxCachedStacks+1)}, nil }
	_, err := c.load(hashedFS{hash: "huge"}, huge)
	require.NoError(t, err)
	assert.Equal(t, []string{"huge"}, c.order, "a layout over the whole budget is still kept while it is the newest")
}
