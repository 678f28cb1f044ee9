package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/trueup/trueup/reconciler/terraform"
)

// newSandbox applies terraform.sandbox: it probes bubblewrap and logs, once, what was chosen and
// why. required without a working bubblewrap is a start-up error naming the missing piece.
func newSandbox(ctx context.Context, mode terraform.SandboxMode, log *slog.Logger) (*terraform.Sandbox, error) {
	if mode == terraform.SandboxOff {
		log.Warn("terraform.sandbox is off: branch and pull request plans run as plain processes of trueup's user and can read what it can read")
		return nil, nil
	}
	sb, err := terraform.ProbeSandbox(ctx, "")
	switch {
	case err == nil:
		log.Info("branch and pull request plans run in a bubblewrap sandbox", "sandbox", mode, "bwrap", sb.Path())
		return sb, nil
	case mode == terraform.SandboxRequired:
		return nil, fmt.Errorf("terraform.sandbox is required: %w", err)
	default:
		log.Warn("no sandbox for branch and pull request plans: bubblewrap does not work here; set terraform.sandbox: required to refuse to start instead",
			"sandbox", mode, "reason", err.Error())
		return nil, nil
	}
}

// checkSandboxSecrets refuses to start when a file holding one of trueup's secrets lies where the
// sandbox shows it to branch code.
func checkSandboxSecrets(cfg Config, sb *terraform.Sandbox) error {
	key := cfg.GitHub.PrivateKeyFile
	if sb == nil || key == "" {
		return nil
	}
	abs, err := filepath.Abs(key)
	if err != nil {
		return fmt.Errorf("github.private_key_file: %w", err)
	}
	shown := sb.Shows(abs)
	for _, p := range cfg.Terraform.SandboxReadOnly {
		shown = shown || within(abs, filepath.Clean(p))
	}
	if shown {
		return fmt.Errorf("github.private_key_file %s is readable by branch plans in the sandbox: keep it outside /usr, /etc and terraform.sandbox_read_only (for example under /run/secrets or the data dir)", abs)
	}
	return nil
}
