package remote

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTreeRoundTrip(t *testing.T) {
	src := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(src, "stacks", "a"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(src, "modules", "m"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "stacks", "a", "main.tf"), []byte("a"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(src, "modules", "m", "hook.sh"), []byte("#!/bin/sh\n"), 0o755))
	require.NoError(t, os.Symlink("../../modules/m/hook.sh", filepath.Join(src, "stacks", "a", "hook.sh")))
	require.NoError(t, syscall.Mkfifo(filepath.Join(src, "fifo"), 0o600)) // never read: it would block

	var buf bytes.Buffer
	require.NoError(t, writeTree(context.Background(), &buf, src))
	dst := t.TempDir()
	require.NoError(t, extractTree(&buf, dst))

	assert.Equal(t, "a", readFile(t, filepath.Join(dst, "stacks", "a", "main.tf")))
	fi, err := os.Stat(filepath.Join(dst, "modules", "m", "hook.sh"))
	require.NoError(t, err)
	assert.NotZero(t, fi.Mode()&0o100, "the executable bit is kept")
	target, err := os.Readlink(filepath.Join(dst, "stacks", "a", "hook.sh"))
	require.NoError(t, err)
	assert.Equal(t, "../../modules/m/hook.sh", target, "a symlink inside the tree stays a symlink")
	_, err = os.Lstat(filepath.Join(dst, "fifo"))
	assert.True(t, os.IsNotExist(err), "a FIFO is left out")
}

// entry is one tar entry of a hand-made tarball.
type entry struct {
	name, link, body string
	typ              byte
}

func tarball(t *testing.T, entries ...entry) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.body))}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		require.NoError(t, tw.WriteHeader(h))
		if e.typ == tar.TypeReg {
			_, err := tw.Write([]byte(e.body))
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Close())
	require.NoError(t, gz.Close())
	return &buf
}

func TestExtractTreeRefusesEntriesThatEscape(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []entry
		want    string
	}{
		{"a name with ..", []entry{{name: "../escaped", body: "x", typ: tar.TypeReg}}, "leaves the tree"},
		{"a name with .. inside", []entry{{name: "a/../../escaped", body: "x", typ: tar.TypeReg}}, "leaves the tree"},
		{"an absolute name", []entry{{name: "/tmp/escaped", body: "x", typ: tar.TypeReg}}, "leaves the tree"},
		{"an absolute symlink", []entry{{name: "passwd", link: "/etc/passwd", typ: tar.TypeSymlink}}, "points outside the tree"},
		{"a symlink climbing out", []entry{{name: "a/up", link: "../../..", typ: tar.TypeSymlink}}, "points outside the tree"},
		{"a file written through a symlink", []entry{
			{name: "d", link: ".", typ: tar.TypeSymlink},
			{name: "d/x", body: "x", typ: tar.TypeReg},
		}, "lies under a symlink"},
		{"a symlink climbing out through another", []entry{
			{name: "sub/here", link: "..", typ: tar.TypeSymlink},
			{name: "out", link: "sub/here/..", typ: tar.TypeSymlink},
		}, "points outside the tree"},
		{"a dangling symlink", []entry{{name: "nowhere", link: "missing/file", typ: tar.TypeSymlink}}, "leads nowhere"},
		{"a hard link", []entry{{name: "f", body: "x", typ: tar.TypeReg}, {name: "h", link: "f", typ: tar.TypeLink}}, "not a directory"},
		{"a device", []entry{{name: "dev", typ: tar.TypeChar}}, "not a directory"},
		{"a duplicate file", []entry{{name: "f", body: "x", typ: tar.TypeReg}, {name: "f", body: "y", typ: tar.TypeReg}}, "file exists"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parent := t.TempDir()
			dst := filepath.Join(parent, "tree")
			require.NoError(t, os.Mkdir(dst, 0o700))
			err := extractTree(tarball(t, tc.entries...), dst)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			_, statErr := os.Stat(filepath.Join(parent, "escaped"))
			assert.True(t, os.IsNotExist(statErr), "nothing was written outside the tree")
		})
	}
}

func TestExtractTreeAcceptsSymlinksThatStayInside(t *testing.T) {
	dst := t.TempDir()
	err := extractTree(tarball(t,
		entry{name: "shared/vars.tf", body: "v", typ: tar.TypeReg},
		entry{name: "stacks/a/vars.tf", link: "../../shared/vars.tf", typ: tar.TypeSymlink},
		entry{name: "self", link: ".", typ: tar.TypeSymlink},
	), dst)
	require.NoError(t, err)
	assert.Equal(t, "v", readFile(t, filepath.Join(dst, "stacks", "a", "vars.tf")))
}
