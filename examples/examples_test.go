// Package examples_test checks the infrastructure repositories in examples/: every .tf file parses
// without a diagnostic, every local module source resolves, the quickstart really applies offline
// (with the repository's Terraform and hashicorp/local provider), and aws-startup keeps the seed
// article's invariants: data stores and tasks in private subnets only, reachable only from the
// service, no internet gateway route from a private route table, objects archived to Deep Archive
// after 90 days, 1 vCPU / 2 GB tasks scaling 2 to 10 on CPU, and a .trueup.yaml that matches.
package examples_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

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

func examplesDir(t *testing.T, name string) string {
	t.Helper()
	return filepath.Join(repoRoot(t), "examples", name)
}

func loadExample(t *testing.T, name string) *tfRepo {
	t.Helper()
	r, err := loadRepo(os.DirFS(examplesDir(t, name)))
	require.NoError(t, err)
	return r
}

func TestEveryTerraformFileParses(t *testing.T) {
	r, err := loadRepo(os.DirFS(examplesDir(t, ".")))
	require.NoError(t, err)
	require.NotEmpty(t, r.mods)
}

func TestModuleSourcesResolve(t *testing.T) {
	for _, name := range []string{"quickstart", "aws-startup"} {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, checkModuleSources(loadExample(t, name)))
		})
	}
}

func TestQuickstartShape(t *testing.T) {
	r := loadExample(t, "quickstart")
	var stacks []string
	for _, s := range r.stacks {
		stacks = append(stacks, s.mod.dir)
	}
	require.Equal(t, []string{"stacks/api", "stacks/network", "stacks/web"}, stacks)
	// Two stacks share one module, so a change to it is a change to both.
	for _, dir := range []string{"stacks/api", "stacks/web"} {
		site := r.stack(dir).children["site"]
		require.NotNil(t, site, "%s calls no module.site", dir)
		require.Equal(t, "modules/site", site.mod.dir)
	}
	require.Empty(t, r.stack("stacks/network").children, "stacks/network is the standalone stack")
	// demo.sh changes the web stack's greeting with sed and gives every stack an out_dir.
	main, err := os.ReadFile(filepath.Join(examplesDir(t, "quickstart"), "stacks", "web", "main.tf"))
	require.NoError(t, err)
	require.Regexp(t, `greeting *= *"[^"]*"`, string(main))
	for _, s := range r.stacks {
		require.NotNil(t, s.mod.one("variable", "out_dir"), "%s has no variable out_dir", s.mod.dir)
	}
}

func TestAWSStartupInvariants(t *testing.T) {
	r := loadExample(t, "aws-startup")
	require.Len(t, r.stacks, 4)
	for _, tc := range []struct {
		name  string
		check func(*tfRepo) error
	}{
		{"data stores and tasks in private subnets", checkPrivateData},
		{"data stores admit only the service", checkDataAccess},
		{"private route tables have no internet gateway", checkPrivateRoutes},
		{"buckets archive after 90 days and block public access", checkBuckets},
		{"service size and autoscaling", checkService},
		{"VPC endpoints, GuardDuty and Security Hub", checkEndpointsAndDetection},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, tc.check(r))
		})
	}
}

func TestAWSStartupTrueupConfig(t *testing.T) {
	dir := examplesDir(t, "aws-startup")
	require.NoError(t, checkTrueupConfig(os.DirFS(dir), loadExample(t, "aws-startup")))
}
