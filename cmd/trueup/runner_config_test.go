package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadConfigRunnerSection(t *testing.T) {
	cfg, err := LoadConfig(writeConfig(t, "runner:\n  executor: process\n  max_parallel: 5\n  callback_url: http://10.0.0.5:8080\n  process:\n    binary: /usr/local/bin/trueup\n"))
	require.NoError(t, err)
	assert.Equal(t, RunnerConfig{Executor: "process", MaxParallel: 5, CallbackURL: "http://10.0.0.5:8080", Process: ProcessRunnerConfig{Binary: "/usr/local/bin/trueup"}}, cfg.Runner)

	cfg, err = LoadConfig(writeConfig(t, "repo:\n  url: /r\n"))
	require.NoError(t, err)
	assert.Equal(t, DefaultRunnerConfig(), cfg.Runner, "local, 20 in flight, by default")

	_, err = LoadConfig(writeConfig(t, "runner:\n  executor: process\n  max_paralel: 5\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `line 3: unknown key "max_paralel"`)
}

func TestValidateRunner(t *testing.T) {
	valid := func() Config {
		c := DefaultConfig()
		c.Repo.URL = "/srv/git/infra.git"
		c.Runner.Executor = executorProcess
		return c
	}
	require.NoError(t, valid().Validate())
	ecsValid := valid()
	ecsValid.Runner = RunnerConfig{Executor: executorECS, MaxParallel: 50, CallbackURL: "http://trueup.internal:8080",
		ECS: ECSRunnerConfig{Cluster: "infra", TaskDefinitions: ECSTaskDefinitions{Plan: "trueup-plan", Apply: "trueup-apply"}, Subnets: []string{"subnet-a"}}}
	require.NoError(t, ecsValid.Validate())
	ecsValid.Store.Postgres = &PostgresConfig{DSNEnv: "DSN"}
	ecsValid.Runner.AdvertiseURL = "http://10.0.0.5:8080"
	require.NoError(t, ecsValid.Validate(), "runners with two replicas")
	for _, tt := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"an unknown executor", func(c *Config) { c.Runner.Executor = "nomad" }, `runner.executor must be local, process, ecs or kubernetes, got "nomad"`},
		{"no runs in flight", func(c *Config) { c.Runner.MaxParallel = 0 }, "runner.max_parallel must be between 1 and 1000, got 0"},
		{"a callback URL without a scheme", func(c *Config) { c.Runner.CallbackURL = "10.0.0.5:8080" }, "runner.callback_url must be an http:// or https:// URL"},
		{"a callback URL with credentials", func(c *Config) { c.Runner.CallbackURL = "http://u:p@trueup:8080" }, "runner.callback_url must be"},
		{"a relative binary", func(c *Config) { c.Runner.Process.Binary = "bin/trueup" }, "runner.process.binary must be an absolute path"},
		{"an advertise URL with a path", func(c *Config) { c.Runner.AdvertiseURL = "http://10.0.0.5:8080/trueup" }, "runner.advertise_url must be"},
		{"an advertise URL without a scheme", func(c *Config) { c.Runner.AdvertiseURL = "10.0.0.5:8080" }, "runner.advertise_url must be"},
		{"ecs without a cluster", func(c *Config) { c.Runner.Executor = executorECS }, "runner.ecs.cluster is required"},
		{"ecs without task definitions", func(c *Config) { c.Runner.Executor = executorECS }, "runner.ecs.task_definitions needs plan and apply"},
		{"ecs with one task definition for both", func(c *Config) {
			c.Runner.Executor = executorECS
			c.Runner.ECS.TaskDefinitions = ECSTaskDefinitions{Plan: "trueup", Apply: "trueup"}
		}, "plan and apply must differ"},
		{"ecs without subnets", func(c *Config) { c.Runner.Executor = executorECS }, "runner.ecs.subnets is required"},
		{"ecs without a callback URL", func(c *Config) { c.Runner.Executor = executorECS }, "runner.callback_url is required with runner.executor: ecs"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.change(&c)
			err := c.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestRunnerCommandSaysWhatIsMissing(t *testing.T) {
	for _, k := range []string{"TRUEUP_RUN_ID", "TRUEUP_CONTROL_URL", "TRUEUP_RUN_TOKEN", "TRUEUP_RUN_TOKEN_FILE"} {
		t.Setenv(k, "")
	}
	t.Setenv("TRUEUP_RUN_ID", "r1")
	code, _, stderr := runCLI(t, "runner")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "runner: missing TRUEUP_CONTROL_URL, TRUEUP_RUN_TOKEN or TRUEUP_RUN_TOKEN_FILE")
}

func TestRunnerCommandReadsTheTokenFromAFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(file, []byte("tok-en\n"), 0o600))
	t.Setenv("TRUEUP_RUN_ID", "r1")
	t.Setenv("TRUEUP_CONTROL_URL", "http://trueup:8080")
	t.Setenv("TRUEUP_RUN_TOKEN", "")
	t.Setenv("TRUEUP_RUN_TOKEN_FILE", file)
	c, err := runnerClient()
	require.NoError(t, err)
	assert.Equal(t, "tok-en", c.Token)
}

func TestRunnerCommandThatCannotReachTheControlPlaneSaysWhy(t *testing.T) {
	addr := closedAddr(t)
	t.Setenv("TRUEUP_RUN_ID", "r1")
	t.Setenv("TRUEUP_CONTROL_URL", addr)
	t.Setenv("TRUEUP_RUN_TOKEN", "tok-en")
	t.Setenv("TRUEUP_RUN_TOKEN_FILE", "")
	var stdout, stderr strings.Builder
	code := runMain(context.Background(), []string{"runner"}, &stdout, &stderr)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr.String(), "runner r1: fetch the job from "+addr)
	assert.Contains(t, stderr.String(), "connection refused")
	assert.NotContains(t, stderr.String(), "tok-en", "the token is never printed")
}
