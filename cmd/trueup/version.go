package main

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"strings"
)

func cmdVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", "trueup version [--terraform BINARY]", "  trueup version\n", stderr)
	tf := fs.String("terraform", "terraform", "Terraform binary whose version to show")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "trueup %s (commit %s)\n%s %s/%s\n", version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	out, err := exec.CommandContext(ctx, *tf, "version").Output()
	if err != nil {
		fmt.Fprintf(stdout, "terraform: not found (%s)\n", *tf)
		return nil
	}
	first, _, _ := strings.Cut(string(out), "\n")
	fmt.Fprintln(stdout, strings.TrimSpace(first))
	return nil
}
