package layout

import (
	"io/fs"
	"strings"
	"testing/fstest"
)

// repo builds a MapFS from file contents. A value starting with "->" is a symlink to the rest.
func repo(files map[string]string) fstest.MapFS {
	m := fstest.MapFS{}
	for name, content := range files {
		if target, ok := strings.CutPrefix(content, "->"); ok {
			m[name] = &fstest.MapFile{Data: []byte(target), Mode: fs.ModeSymlink | 0o777}
			continue
		}
		m[name] = &fstest.MapFile{Data: []byte(content), Mode: 0o644}
	}
	return m
}

// module is a Terraform file calling the given module sources.
func module(sources ...string) string {
	out := "resource \"terraform_data\" \"x\" {}\n"
	for i, s := range sources {
		out += "module \"m" + string(rune('a'+i)) + "\" {\n  source = \"" + s + "\"\n}\n"
	}
	return out
}
