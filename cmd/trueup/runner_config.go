package main

import (
	"fmt"
	"net/url"
	"path/filepath"
)

// Runner executors (runner.executor).
const (
	executorLocal   = "local"
	executorProcess = "process"
)

// RunnerConfig is the runner: section: where Terraform runs.
type RunnerConfig struct {
	// Executor is local (Terraform runs inside the daemon, the default) or process (each run in a
	// `trueup runner` child process, through the runner protocol).
	Executor string `yaml:"executor"`
	// MaxParallel bounds the runs in flight at once with a remote executor.
	MaxParallel int `yaml:"max_parallel"`
	// CallbackURL is how runners reach trueup ("" for its listen address).
	CallbackURL string `yaml:"callback_url"`
	// Process configures the process executor.
	Process ProcessRunnerConfig `yaml:"process"`
}

// ProcessRunnerConfig is runner.process.
type ProcessRunnerConfig struct {
	// Binary is the trueup executable run as `trueup runner` ("" for the daemon's own).
	Binary string `yaml:"binary"`
}

// DefaultRunnerConfig is the runner: section before the file is read.
func DefaultRunnerConfig() RunnerConfig {
	return RunnerConfig{Executor: executorLocal, MaxParallel: 20}
}

// validateRunner reports every problem of the runner: section.
func (c Config) validateRunner() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	r := c.Runner
	switch r.Executor {
	case executorLocal, executorProcess:
	default:
		bad("runner.executor must be local or process, got %q (kubernetes and ecs are not available yet)", r.Executor)
	}
	if r.MaxParallel < 1 || r.MaxParallel > 1000 {
		bad("runner.max_parallel must be between 1 and 1000, got %d", r.MaxParallel)
	}
	if r.CallbackURL != "" {
		u, err := url.Parse(r.CallbackURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			bad("runner.callback_url must be an http:// or https:// URL with a host and nothing after the path, got %q", r.CallbackURL)
		}
	}
	if r.Process.Binary != "" && !filepath.IsAbs(r.Process.Binary) {
		bad("runner.process.binary must be an absolute path, got %q", r.Process.Binary)
	}
	if r.Executor == executorProcess && c.Store.Postgres != nil {
		bad("runner.executor: process does not work with store.postgres yet (runners do not get the shared Terraform state); use local")
	}
	return errs
}
