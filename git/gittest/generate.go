package gittest

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/trueup/trueup/reconciler"
)

// GenerateHistory appends commits to main quickly (through git fast-import) for benchmarks:
// the first commit adds files files (spread over directories of 50, named dNNN/fNNNN.tf), and each
// later commit changes one of them. main is pushed and the working clone is left on it at the new head.
func (r *Remote) GenerateHistory(commits, files int) reconciler.Revision {
	r.t.Helper()
	if commits < 1 || files < 1 {
		r.t.Fatalf("gittest: GenerateHistory needs at least one commit and one file")
	}
	parent := ""
	if r.hasBranch("main") {
		r.Checkout("main")
		parent = string(r.Rev("HEAD"))
	}
	var s bytes.Buffer
	name := func(i int) string { return fmt.Sprintf("d%03d/f%04d.tf", i/50, i) }
	data := func(content string) {
		fmt.Fprintf(&s, "data %d\n%s\n", len(content), content)
	}
	for c := 0; c < commits; c++ {
		fmt.Fprintf(&s, "commit refs/heads/main\nmark :%d\n", c+1)
		fmt.Fprintf(&s, "committer trueup test <test@trueup.invalid> %d +0000\n", 1700000000+c)
		data(fmt.Sprintf("generated commit %d", c))
		switch {
		case c > 0:
			fmt.Fprintf(&s, "from :%d\n", c)
		case parent != "":
			fmt.Fprintf(&s, "from %s\n", parent)
		}
		if c == 0 {
			for i := 0; i < files; i++ {
				fmt.Fprintf(&s, "M 100644 inline %s\n", name(i))
				data(fmt.Sprintf("# file %d\nlocals { v = %d }\n", i, i))
			}
		} else {
			i := (c * 7919) % files
			fmt.Fprintf(&s, "M 100644 inline %s\n", name(i))
			data(fmt.Sprintf("# file %d\nlocals { v = %d }\n", i, c))
		}
		s.WriteString("\n")
	}
	cmd := r.command(r.work, "fast-import", "--quiet")
	cmd.Stdin = &s
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		r.t.Fatalf("gittest: fast-import: %v\n%s", err, strings.TrimSpace(stderr.String()))
	}
	r.Git("reset", "--quiet", "--hard", "main")
	r.Push("main")
	return r.Rev("HEAD")
}
