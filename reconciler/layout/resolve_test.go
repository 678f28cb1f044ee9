package layout

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResolve(t *testing.T) {
	fsys := repo(map[string]string{
		"real/dir/main.tf": "",
		"a":                "->real",
		"b":                "->a/dir",       // a chain: b -> a/dir -> real/dir
		"real/up":          "->../real/dir", // stays inside
		"real/dir/self":    "->.",
		"abs":              "->/etc",
		"escape":           "->../outside",
		"deep/escape":      "->../../outside",
		"deep/ok":          "->../real",
		"loop1":            "->loop2",
		"loop2":            "->loop1",
		"file.txt":         "x",
	})
	tests := []struct {
		name    string
		want    string
		wantErr error
	}{
		{name: ".", want: "."},
		{name: "real/dir", want: "real/dir"},
		{name: "a/dir/main.tf", want: "real/dir/main.tf"},
		{name: "b", want: "real/dir"},
		{name: "b/main.tf", want: "real/dir/main.tf"},
		{name: "real/up/main.tf", want: "real/dir/main.tf"},
		{name: "real/dir/self/self/main.tf", want: "real/dir/main.tf"},
		{name: "deep/ok/dir", want: "real/dir"},
		{name: "abs", wantErr: errEscapes},
		{name: "abs/passwd", wantErr: errEscapes},
		{name: "escape", wantErr: errEscapes},
		{name: "deep/escape/x", wantErr: errEscapes},
		{name: "../x", wantErr: errEscapes},
		{name: "loop1", wantErr: errLinkLoop},
		{name: "missing/dir", wantErr: fs.ErrNotExist},
		{name: "file.txt/x", wantErr: fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := newResolver(fsys).resolve(tt.name)
			if tt.wantErr != nil {
				require.Error(t, err)
				assert.True(t, errors.Is(err, tt.wantErr), "%v is not %v", err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestLoadOSDirFS checks the resolver against real symlinks through os.DirFS, as `trueup
// validate DIR` reads a checkout.
func TestLoadOSDirFS(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	write("envs/prod/main.tf", module("../../modules/a"))
	write("modules/a/main.tf", module())
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "live"), 0o755))
	require.NoError(t, os.Symlink("../envs/prod", filepath.Join(dir, "live/prod")))
	require.NoError(t, os.Symlink("../../..", filepath.Join(dir, "live/out")))

	write(".trueup.yaml", "stacks:\n  - dir: live/prod\n")
	l, err := Load(os.DirFS(dir))
	require.NoError(t, err)
	s, ok := l.Stack("live/prod")
	require.True(t, ok)
	assert.Equal(t, []string{"modules/a"}, s.ModuleDirs)
	assert.Equal(t, []string{"live/prod"}, l.Affected([]string{"envs/prod/main.tf"}))

	write(".trueup.yaml", "stacks:\n  - dir: live/out\n")
	_, err = Load(os.DirFS(dir))
	require.Error(t, err)
	assert.Equal(t, ".trueup.yaml:2: stacks[0].dir: live/out leads out of the repository through symlink live/out -> ../../..", err.Error())

	require.NoError(t, os.Remove(filepath.Join(dir, ".trueup.yaml")))
	l, err = Load(os.DirFS(dir))
	require.NoError(t, err)
	assert.Equal(t, []string{"envs/prod"}, l.Names(), "discovery does not follow symlinked directories")
}
