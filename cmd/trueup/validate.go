package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/trueup/trueup/reconciler/layout"
)

const validateExamples = `  trueup validate              # the repository in the current directory
  trueup validate ./infra      # another checkout; exits 1 on errors, for CI
  trueup validate --strict .   # warnings (e.g. a stack with invalid HCL) fail too
`

func cmdValidate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("validate", "trueup validate [--strict] [DIR]", validateExamples, stderr)
	strict := fs.Bool("strict", false, "treat warnings as errors")
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
		fmt.Fprintf(stderr, "%s is not valid:\n%v\n", dir, err)
		return exitError{code: 1}
	}
	fmt.Fprint(stdout, l.String())
	if *strict && len(l.Warnings) > 0 {
		fmt.Fprintf(stderr, "%d warnings (--strict)\n", len(l.Warnings))
		return exitError{code: 1}
	}
	return nil
}
