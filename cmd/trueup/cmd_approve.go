package main

import (
	"context"
	"fmt"
	"io"

	"github.com/trueup/trueup/reconciler"
)

const approveExamples = `  trueup status                        # the STATE column shows "held <sha>"
  TRUEUP_API_TOKEN=... trueup approve stacks/app 3f2a9c1
  trueup approve network 3f2a9c1d --addr http://trueup.internal:8080 --token-env TRUEUP_PROD_TOKEN
`

func cmdApprove(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cf clientFlags
	fs := newFlagSet("approve", "trueup approve STACK SHA [--addr URL] [--token-env NAME]", approveExamples, stderr)
	cf.register(fs)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		fmt.Fprintf(stderr, "trueup approve: want STACK and SHA (the held revision), got %d argument(s)\n\n", len(pos))
		fs.Usage()
		return errUsage
	}
	stack, rev := pos[0], pos[1]
	c, err := cf.client()
	if err != nil {
		return err
	}
	var out struct {
		Approved reconciler.Revision `json:"approved"`
	}
	if err := c.post(ctx, stackPath(stack, "approve"), map[string]string{"revision": rev}, &out); err != nil {
		return fmt.Errorf("approve %s: %w", stack, err)
	}
	_, err = fmt.Fprintf(stdout, "approved %s at %s\n", stack, out.Approved.Short())
	return err
}
