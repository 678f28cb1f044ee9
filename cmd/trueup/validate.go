package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/trueup/trueup/reconciler/layout"
)

const validateExamples = `  trueup validate              # the repository in the current directory
  trueup validate ./infra      # another checkout; exits 1 on errors, for CI
`

func cmdValidate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("validate", "trueup validate [DIR]", validateExamples, stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	dir := "."
	switch fs.NArg() {
	case 0:
	case 1:
		dir = fs.Arg(0)
	default:
		fmt.Fprintln(stderr, "trueup validate: at most one directory")
		return errUsage
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("validate: %s is not a directory", dir)
	}
	l, err := layout.Load(os.DirFS(dir))
	if err != nil {
		fmt.Fprintf(stderr, "%s: invalid:\n%v\n", dir, err)
		return exitError{code: 1}
	}
	source := "discovered (no .trueup.yaml)"
	if l.Configured {
		source = "from .trueup.yaml"
	}
	fmt.Fprintf(stdout, "%d stacks, %s\n\n", len(l.Stacks), source)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STACK\tDIR\tWORKSPACE\tMODULES")
	for _, s := range l.Stacks {
		mods := "-"
		if len(s.ModuleDirs) > 0 {
			mods = strings.Join(s.ModuleDirs, ", ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, s.Dir, s.Workspace, mods)
	}
	tw.Flush()
	for _, w := range l.Warnings {
		fmt.Fprintf(stdout, "warning: %s\n", w)
	}
	return nil
}
