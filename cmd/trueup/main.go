// Command trueup is a GitOps reconciliation daemon for Terraform: it follows a git repository, plans
// every branch, applies what is merged to main, and keeps the real world equal to git.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Set at build time with -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = "unknown"
)

const usage = `trueup: GitOps reconciliation for Terraform.

Usage:
  trueup run --config trueup.yaml     run the daemon
  trueup status [--json]              show every stack (asks the running daemon)
  trueup approve STACK SHA            let a held apply go ahead
  trueup reconcile STACK              apply or drift-check a stack now
  trueup validate [DIR]               check a repository's stacks and .trueup.yaml
  trueup store copy --from DIR --to postgres
                                      move a stopped trueup's data dir into PostgreSQL
  trueup version                      print versions
  trueup runner                       run one Terraform run for a daemon (runner.executor)

The commands that ask the daemon use --addr (default http://127.0.0.1:8080, or TRUEUP_ADDR)
and the bearer token in TRUEUP_API_TOKEN.

Run "trueup COMMAND --help" for a command's flags and examples.
`

// errUsage is returned for bad command lines; the message was already printed.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	// After the first signal, restore the default handling: a second SIGINT or SIGTERM ends the
	// process at once instead of waiting out the shutdown grace period.
	context.AfterFunc(ctx, stop)
	code := runMain(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// runMain runs one command line and returns the process exit code.
func runMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "run":
		err = cmdRun(ctx, args[1:], stdout, stderr)
	case "status":
		err = cmdStatus(ctx, args[1:], stdout, stderr)
	case "approve":
		err = cmdApprove(ctx, args[1:], stdout, stderr)
	case "reconcile":
		err = cmdReconcile(ctx, args[1:], stdout, stderr)
	case "validate":
		err = cmdValidate(ctx, args[1:], stdout, stderr)
	case "store":
		err = cmdStore(ctx, args[1:], stdout, stderr)
	case "version":
		err = cmdVersion(ctx, args[1:], stdout, stderr)
	case "runner":
		err = cmdRunner(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "trueup: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		var ee exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		fmt.Fprintf(stderr, "trueup: %v\n", err)
		return 1
	}
}

// exitError ends the process with code after its output was printed.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// newFlagSet returns a flag set that prints usage with examples to stderr and returns errors.
func newFlagSet(name, synopsis, examples string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s\n\nFlags:\n", synopsis)
		fs.PrintDefaults()
		if examples != "" {
			fmt.Fprintf(stderr, "\nExamples:\n%s", examples)
		}
	}
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}
