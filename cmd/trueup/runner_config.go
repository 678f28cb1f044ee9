package main

import (
	"fmt"
	"net/url"
	"path/filepath"
)

// Runner executors (runner.executor).
const (
	executorLocal      = "local"
	executorProcess    = "process"
	executorECS        = "ecs"
	executorKubernetes = "kubernetes"
)

// RunnerConfig is the runner: section: where Terraform runs.
type RunnerConfig struct {
	// Executor is local (Terraform runs inside the daemon, the default) or process (each run in a
	// `trueup runner` child process, through the runner protocol).
	Executor string `yaml:"executor"`
	// MaxParallel bounds the runs in flight at once with a remote executor.
	MaxParallel int `yaml:"max_parallel"`
	// CallbackURL is how runners reach trueup ("" for its listen address). With two replicas it
	// reaches either (a load balancer): a standby forwards runners' calls to the leader.
	CallbackURL string `yaml:"callback_url"`
	// AdvertiseURL is how the other replica reaches this one to forward runners' calls ("" for
	// this machine's first IPv4 address and the listen port); only with store.postgres.
	AdvertiseURL string `yaml:"advertise_url"`
	// Process configures the process executor.
	Process ProcessRunnerConfig `yaml:"process"`
	// ECS configures the ecs executor.
	ECS ECSRunnerConfig `yaml:"ecs"`
	// Kubernetes configures the kubernetes executor.
	Kubernetes KubernetesRunnerConfig `yaml:"kubernetes"`
}

// ECSRunnerConfig is runner.ecs: where runner tasks run on Amazon ECS (Fargate).
type ECSRunnerConfig struct {
	Cluster string `yaml:"cluster"`
	// TaskDefinitions are the task definitions per purpose; their task roles are the runs' identities.
	TaskDefinitions ECSTaskDefinitions `yaml:"task_definitions"`
	Subnets         []string           `yaml:"subnets"`
	SecurityGroups  []string           `yaml:"security_groups"`
	AssignPublicIP  bool               `yaml:"assign_public_ip"`
	// Container is the trueup container's name in the task definitions (default trueup).
	Container string `yaml:"container"`
}

// ECSTaskDefinitions are runner.ecs.task_definitions.
type ECSTaskDefinitions struct {
	Plan  string `yaml:"plan"`
	Apply string `yaml:"apply"`
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
	case executorECS:
		errs = append(errs, r.validateECS()...)
	case executorKubernetes:
		errs = append(errs, r.validateKubernetes()...)
	default:
		bad("runner.executor must be local, process, ecs or kubernetes, got %q", r.Executor)
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
	if r.AdvertiseURL != "" {
		u, err := url.Parse(r.AdvertiseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
			bad("runner.advertise_url must be an http:// or https:// URL with a host and nothing else, got %q", r.AdvertiseURL)
		}
	}
	return errs
}

// validateECS checks runner.ecs for the ecs executor.
func (r RunnerConfig) validateECS() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	e := r.ECS
	if e.Cluster == "" {
		bad("runner.ecs.cluster is required with runner.executor: ecs")
	}
	if e.TaskDefinitions.Plan == "" || e.TaskDefinitions.Apply == "" {
		bad("runner.ecs.task_definitions needs plan and apply (a task role each: a plan task never holds the apply role)")
	}
	if e.TaskDefinitions.Plan != "" && e.TaskDefinitions.Plan == e.TaskDefinitions.Apply {
		bad("runner.ecs.task_definitions: plan and apply must differ (a plan task never holds the apply role)")
	}
	if len(e.Subnets) == 0 {
		bad("runner.ecs.subnets is required (Fargate tasks run in awsvpc mode)")
	}
	if r.CallbackURL == "" {
		bad("runner.callback_url is required with runner.executor: ecs (how tasks reach trueup)")
	}
	return errs
}
