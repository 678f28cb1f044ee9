package main

import (
	"context"
	"fmt"
	"io"
)

const reconcileExamples = `  TRUEUP_API_TOKEN=... trueup reconcile stacks/app
  trueup reconcile network --addr http://trueup.internal:8080
`

func cmdReconcile(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf clientFlags
	fs := newFlagSet("reconcile", "trueup reconcile STACK [--addr URL] [--token-env NAME]", reconcileExamples, stderr)
	cf.register(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fmt.Fprintf(stderr, "trueup reconcile: want one STACK, got %d argument(s)\n\n", len(pos))
		fs.Usage()
		return errUsage
	}
	stack := pos[0]
	c, err := cf.client()
	if err != nil {
		return err
	}
	if err := c.post(ctx, stackPath(stack, "reconcile"), nil, nil); err != nil {
		return fmt.Errorf("reconcile %s: %w", stack, err)
	}
	_, err = fmt.Fprintf(stdout, "queued %s\n", stack)
	return err
}
