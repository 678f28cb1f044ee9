// Package deploy_test checks the deployment files in deploy/ and the Dockerfile: every Terraform file parses
// (and is formatted, when the repository's Terraform is built), every YAML document parses, and the invariants
// that keep one trueup safe hold everywhere it can run: one instance per data dir, a stop timeout longer than
// trueup's shutdown grace, non-root, only the webhook path public, the secrets by the same names.
package deploy_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// What every deployment agrees on.
const (
	dataDir    = "/var/lib/trueup"
	configPath = "/etc/trueup/trueup.yaml"
	httpPort   = 8080
	trueupUID  = 10001

	// defaultShutdownGrace is trueup's shutdown_grace when the config does not set it (cmd/trueup's
	// DefaultConfig; TestDefaultShutdownGrace keeps the two equal). The systemd unit, whose config is the
	// operator's, must outlast it.
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

// TestEveryDeploymentHasAReadme: every directory under deploy/ has a README and a row in deploy/README.md.
func TestEveryDeploymentHasAReadme(t *testing.T) {
	entries, err := os.ReadDir(deployPath(t))
	require.NoError(t, err)
	index, err := os.ReadFile(deployPath(t, "README.md"))
	require.NoError(t, err)
	var dirs []string
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		dirs = append(dirs, e.Name())
		info, err := os.Stat(deployPath(t, e.Name(), "README.md"))
		require.NoError(t, err, e.Name())
		assert.NotZero(t, info.Size(), e.Name())
		assert.Contains(t, string(index), "| [`"+e.Name()+"/`]("+e.Name()+"/) |", "deploy/README.md's table")
	}
	assert.Subset(t, dirs, []string{"aws-ecs", "aws-ecs-ha", "kubernetes", "kubernetes-ha", "systemd"})
}

// TestDefaultShutdownGrace reads cmd/trueup's DefaultConfig, so a new default grace cannot silently outgrow
// the stop timeouts here.
func TestDefaultShutdownGrace(t *testing.T) {
	path := filepath.Join(repoRoot(t), "cmd", "trueup", "config.go")
	src, err := os.ReadFile(path)
	require.NoError(t, err)
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, 0)
	require.NoError(t, err)
	var expr ast.Expr
	ast.Inspect(f, func(n ast.Node) bool {
		if kv, ok := n.(*ast.KeyValueExpr); ok {
			if id, ok := kv.Key.(*ast.Ident); ok && id.Name == "ShutdownGrace" {
				expr = kv.Value
			}
		}
		return expr == nil
	})
	require.NotNil(t, expr, "ShutdownGrace: in %s", rel(t, path))
	text := string(src[fset.Position(expr.Pos()).Offset:fset.Position(expr.End()).Offset])
	m := regexp.MustCompile(`^(\d+) \* time\.(Second|Minute|Hour)$`).FindStringSubmatch(text)
	require.NotNil(t, m, "ShutdownGrace: %s is not N * time.Unit", text)
	n, err := strconv.Atoi(m[1])
	require.NoError(t, err)
	unit := map[string]time.Duration{"Second": time.Second, "Minute": time.Minute, "Hour": time.Hour}[m[2]]
	assert.Equal(t, defaultShutdownGrace, time.Duration(n)*unit, "cmd/trueup's default shutdown_grace")
}
