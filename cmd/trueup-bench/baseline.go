package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/trueup/trueup/reconciler"
)

// baseline plans stacks with bare Terraform in trueup's own initialised directories: the stack in
// <data_dir>/work/<Slug(main)>/<Slug(stack)>/<dir> with TF_DATA_DIR
// <data_dir>/tfdata/<Slug(main)>/<Slug(stack)>/tfdata, so the
// same configuration, backend settings, providers and state. It does what trueup's drift check does
// with Terraform: plan -out, then show -json only when the plan has changes.
type baseline struct {
	e       *env
	dataDir string
	stacks  []string
	workers int
	planDir string
}

// sweep plans every stack, workers at a time, and returns the wall time.
func (b baseline) sweep(ctx context.Context) (time.Duration, error) {
	if err := os.MkdirAll(b.planDir, 0o755); err != nil {
		return 0, err
	}
	jobs := make(chan string)
	errs := make(chan error, len(b.stacks))
	var wg sync.WaitGroup
	start := time.Now()
	for range b.workers {
		wg.Go(func() {
			for s := range jobs {
				if err := b.plan(ctx, s); err != nil {
					errs <- err
				}
			}
		})
	}
	for _, s := range b.stacks {
		jobs <- s
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	return elapsed, errors.Join(collect(errs)...)
}

func (b baseline) plan(ctx context.Context, stack string) error {
	slug, main := reconciler.Slug(stack), reconciler.Slug("main")
	dir := filepath.Join(b.dataDir, "work", main, slug, filepath.FromSlash(stack))
	planFile := filepath.Join(b.planDir, slug+".tfplan")
	env := append(os.Environ(),
		"TF_CLI_CONFIG_FILE="+b.e.tfrc,
		"TF_DATA_DIR="+filepath.Join(b.dataDir, "tfdata", main, slug, "tfdata"),
		"TF_PLUGIN_CACHE_DIR="+filepath.Join(b.dataDir, "plugin-cache"),
		"CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1",
	)
	code, err := b.terraform(ctx, dir, env, "plan", "-no-color", "-input=false", "-detailed-exitcode", "-lock-timeout=10s", "-out="+planFile)
	if err != nil {
		return fmt.Errorf("baseline %s: %w", stack, err)
	}
	if code == 2 {
		if _, err := b.terraform(ctx, dir, env, "show", "-json", "-no-color", planFile); err != nil {
			return fmt.Errorf("baseline %s: %w", stack, err)
		}
	}
	return nil
}

// terraform runs one command and returns its exit code; 1 is an error.
func (b baseline) terraform(ctx context.Context, dir string, env []string, args ...string) (int, error) {
	cmd := exec.CommandContext(ctx, b.e.terraform, args...)
	cmd.Dir, cmd.Env = dir, env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit) && exit.ExitCode() == 2:
		return 2, nil
	default:
		return 1, fmt.Errorf("terraform %s: %w: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
}

func collect(errs <-chan error) []error {
	var out []error
	for err := range errs {
		out = append(out, err)
	}
	return out
}

// floor is bare Terraform's time for what a pull request's plan must do at least: plan -out, then
// show -json when there are changes, in the target's own initialised workdir (the one trueup
// planned it in), so the same configuration, providers and state.
func (b baseline) floor(ctx context.Context, target, stack string) (time.Duration, error) {
	slug, t := reconciler.Slug(stack), reconciler.Slug(target)
	dir := filepath.Join(b.dataDir, "work", t, slug, filepath.FromSlash(stack))
	planFile := filepath.Join(b.planDir, t+"-"+slug+".tfplan")
	if err := os.MkdirAll(b.planDir, 0o755); err != nil {
		return 0, err
	}
	env := append(os.Environ(),
		"TF_CLI_CONFIG_FILE="+b.e.tfrc,
		"TF_DATA_DIR="+filepath.Join(b.dataDir, "tfdata", t, slug, "tfdata"),
		"CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1",
	)
	start := time.Now()
	code, err := b.terraform(ctx, dir, env, "plan", "-no-color", "-input=false", "-detailed-exitcode", "-lock=false", "-out="+planFile)
	if err != nil {
		return 0, fmt.Errorf("floor %s on %s: %w", stack, target, err)
	}
	if code == 2 {
		if _, err := b.terraform(ctx, dir, env, "show", "-json", "-no-color", planFile); err != nil {
			return 0, fmt.Errorf("floor %s on %s: %w", stack, target, err)
		}
	}
	return time.Since(start), nil
}
