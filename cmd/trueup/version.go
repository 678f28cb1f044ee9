package main

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"strings"
)

const versionExamples = `  trueup version
  trueup version --config /etc/trueup/trueup.yaml   # the Terraform the daemon runs (terraform.binary)
  trueup version --terraform /usr/local/bin/terraform
`

// cmdVersion prints trueup's version and the version of the Terraform it would run: --terraform when
// given, else terraform.binary of --config, else "terraform" from PATH (the daemon's default).
func cmdVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", "trueup version [--config FILE] [--terraform BINARY]", versionExamples, stderr)
	tf := fs.String("terraform", "", "Terraform binary whose version to show (default: terraform.binary of --config, else terraform)")
	config := fs.String("config", "", "path to trueup.yaml, to show the version of its terraform.binary")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "trueup version: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	binary := *tf
	if binary == "" {
		// LoadConfig("") is the defaults, whose binary is "terraform".
		cfg, err := LoadConfig(*config)
		if err != nil {
			return err
		}
		binary = cfg.Terraform.Binary
	}
	fmt.Fprintf(stdout, "trueup %s (commit %s)\n%s %s/%s\n", version, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	out, err := exec.CommandContext(ctx, binary, "version").Output()
	if err != nil {
		fmt.Fprintf(stdout, "terraform: not found (%s)\n", binary)
		return nil
	}
	first, _, _ := strings.Cut(string(out), "\n")
	fmt.Fprintln(stdout, strings.TrimSpace(first))
	return nil
}
