package main

import (
	"slices"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler/layout"
)

// The benchmark's synthetic repository has the shape module_fanout relies on: 100 stacks, and a
// change to modules/fanout-leaf affects exactly the 7 stacks that call it directly or through
// modules/fanout-mid. These are counts, not timings, so they belong in make test.
func TestSyntheticRepositoryFanout(t *testing.T) {
	in := infra{Stacks: 100, Resources: 4, ViaMid: fanoutViaMid, Direct: fanoutDirect, OutDir: "/tmp/out", LockFile: "# lock\n"}
	fsys := fstest.MapFS{}
	for p, content := range in.Files() {
		fsys[p] = &fstest.MapFile{Data: []byte(content)}
	}
	l, err := layout.Load(fsys)
	require.NoError(t, err)
	assert.Len(t, l.Names(), 100, "every stacks/sNNN is a stack and no module is")

	fanout := l.Affected([]string{"modules/fanout-leaf/main.tf"})
	want := in.FanoutStacks()
	slices.Sort(fanout)
	slices.Sort(want)
	assert.Len(t, want, 7)
	assert.Equal(t, want, fanout)

	assert.Equal(t, []string{"stacks/s050"}, l.Affected([]string{"stacks/s050/main.tf"}), "merge_apply changes one stack")
	assert.Len(t, l.Affected([]string{"modules/common/main.tf"}), 100, "every stack calls modules/common")
}
