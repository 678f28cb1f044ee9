// Package deploy_test checks the deployment files in deploy/ and the Dockerfile: every Terraform file parses
// (and is formatted, when the repository's Terraform is built), every YAML document parses, and the invariants
// that keep one trueup safe hold everywhere it can run: one instance per data dir, a stop timeout longer than
// trueup's shutdown grace, non-root, only the webhook path public, the secrets by the same names.
package deploy_test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// What every deployment agrees on.
const (
	dataDir    = "/var/lib/trueup"
	configPath = "/etc/trueup/trueup.yaml"
	httpPort   = 8080
	trueupUID  = 10001

	// defaultShutdownGrace is trueup's shutdown_grace when the config does not set it. An assumption of these
	// deploy files (cmd/trueup owns the real default): the systemd unit, which has no config of its own, must
	// outlast it.
	defaultShutdownGrace = 4 * time.Minute

	// fargateMaxStopTimeout is the longest stopTimeout ECS Fargate accepts, in seconds.
	fargateMaxStopTimeout = 120
)

// secretEnv are the environment variables trueup's config names for its secrets; every deployment provides
// exactly these.
var secretEnv = []string{"GITHUB_TOKEN", "GITHUB_WEBHOOK_SECRET", "SLACK_WEBHOOK_URL", "TRUEUP_API_TOKEN"}

// repoRoot is the directory holding go.mod, found by walking up from the test's working directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, dir, parent, "no go.mod above the test's working directory")
		dir = parent
	}
}

// deployFiles lists the files under deploy/ whose names end in one of suffixes, sorted.
func deployFiles(t *testing.T, suffixes ...string) []string {
	t.Helper()
	root := filepath.Join(repoRoot(t), "deploy")
	var files []string
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".terraform" {
			return filepath.SkipDir
		}
		for _, s := range suffixes {
			if !d.IsDir() && strings.HasSuffix(d.Name(), s) {
				files = append(files, path)
				break
			}
		}
		return nil
	})
	require.NoError(t, err)
	sort.Strings(files)
	return files
}

// deployPath is a path under deploy/.
func deployPath(t *testing.T, elem ...string) string {
	return filepath.Join(append([]string{repoRoot(t), "deploy"}, elem...)...)
}

// rel is path relative to the repository root, for messages.
func rel(t *testing.T, path string) string {
	r, err := filepath.Rel(repoRoot(t), path)
	if err != nil {
		return path
	}
	return r
}

// envFileKeys are the variable names assigned in a KEY=value file (systemd EnvironmentFile, docker --env-file).
func envFileKeys(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var keys []string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, _, ok := strings.Cut(line, "=")
		require.True(t, ok, "%s: not KEY=value: %q", rel(t, path), line)
		keys = append(keys, strings.TrimSpace(k))
	}
	sort.Strings(keys)
	return keys
}

func TestEveryDeploymentHasAReadme(t *testing.T) {
	for _, dir := range []string{"aws-ecs", "kubernetes", "systemd"} {
		info, err := os.Stat(deployPath(t, dir, "README.md"))
		require.NoError(t, err, dir)
		require.NotZero(t, info.Size(), dir)
	}
}
