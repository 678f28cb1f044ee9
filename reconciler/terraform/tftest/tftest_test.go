package tftest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFindUsesEnvironment(t *testing.T) {
	dir := t.TempDir()
	bin, rc := filepath.Join(dir, "terraform"), filepath.Join(dir, "terraformrc")
	require.NoError(t, os.WriteFile(bin, nil, 0o755))
	require.NoError(t, os.WriteFile(rc, nil, 0o644))
	t.Setenv("TRUEUP_TERRAFORM", bin)
	t.Setenv("TRUEUP_TERRAFORMRC", rc)
	gotBin, gotRC, err := find()
	require.NoError(t, err)
	assert.Equal(t, bin, gotBin)
	assert.Equal(t, rc, gotRC)

	t.Setenv("TRUEUP_TERRAFORM", filepath.Join(dir, "missing"))
	_, _, err = find()
	assert.Error(t, err)
}

func TestRepoRoot(t *testing.T) {
	root, err := RepoRoot()
	require.NoError(t, err)
	assert.FileExists(t, filepath.Join(root, "go.mod"))
}
