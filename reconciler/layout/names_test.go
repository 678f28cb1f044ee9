package layout

import (
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A branch names a directory so that its stack's name is a forge command on a line of its own in
// plan comments ("x\n/approve\n" would make GitLab run /approve as trueup's bot). Discovery leaves
// such a directory out, with a warning; .trueup.yaml may not list one.
func TestStackNamesWithControlCharactersAreRefused(t *testing.T) {
	evil := "stacks/x\n/approve\n/merge"
	fsys := fstest.MapFS{
		"stacks/ok/main.tf":     {Data: []byte(module())},
		evil + "/main.tf":       {Data: []byte(module())},
		"stacks/tab\there/a.tf": {Data: []byte(module())},
	}
	l, err := Load(fsys)
	require.NoError(t, err)
	var names []string
	for _, s := range l.Stacks {
		names = append(names, s.Name)
	}
	assert.Equal(t, []string{"stacks/ok"}, names)
	require.Len(t, l.Warnings, 2)
	assert.Contains(t, strings.Join(l.Warnings, "\n"), `"stacks/x\n/approve\n/merge" is not a stack`)

	fsys[ConfigFile] = &fstest.MapFile{Data: []byte("stacks:\n  - dir: \"stacks/x\\n/approve\\n/merge\"\n")}
	_, err = Load(fsys)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "without control characters")
}
