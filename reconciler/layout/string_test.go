package layout

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestString(t *testing.T) {
	l, err := Load(repo(map[string]string{
		"stacks/app/main.tf": module("../../modules/a", "../../../outside"),
		"stacks/bad/main.tf": "resource {",
		"modules/a/main.tf":  module("../b"),
		"modules/b/main.tf":  module(),
	}))
	require.NoError(t, err)
	golden(t, "discovered.golden", l.String())

	l = affectedRepo(t)
	golden(t, "configured.golden", l.String())
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(p, []byte(got), 0o644))
	}
	want, err := os.ReadFile(p)
	require.NoError(t, err, "run go test -update to create it")
	assert.Equal(t, string(want), got)
}
