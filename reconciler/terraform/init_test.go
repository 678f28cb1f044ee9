package terraform

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// requireLocal is a terraform block requiring the local provider with the given constraint.
func requireLocal(constraint string) string {
	return `terraform {
  required_providers {
    local = {
      source  = "hashicorp/local"
      version = "` + constraint + `"
    }
  }
}
`
}

// TestInitRunsOnlyWhenInitInputsChange: init runs again for a change of what init reads
// (providers, module calls, the backend block), not for a change of resources in the stack or in
// its local modules.
func TestInitRunsOnlyWhenInitInputsChange(t *testing.T) {
	r := newTestRunner(t, 0)
	e := newEnv(t)
	out := filepath.Join(t.TempDir(), "out.txt")
	mainTF := func(content, module string) string {
		return localFile(out, content) + `module "m" { source = "../modules/` + module + `" }
`
	}
	writeFiles(t, e.workdir, map[string]string{
		"s/versions.tf":  requireLocal(">= 2.0"),
		"s/backend.tf":   "terraform {\n  backend \"local\" {}\n}\n",
		"s/main.tf":      mainTF("one", "m"),
		"modules/m/m.tf": `resource "terraform_data" "x" { input = "1" }`,
		"modules/n/n.tf": `resource "terraform_data" "x" { input = "1" }`,
	})
	spec := e.spec("s", "")
	spec.Stack.ModuleDirs = []string{"modules/m", "modules/n"}

	steps := []struct {
		what  string
		files map[string]string
		inits int64
	}{
		{"first plan", nil, 1},
		{"nothing changed", nil, 1},
		{"a resource of the stack changed", map[string]string{"s/main.tf": mainTF("two", "m")}, 1},
		{"a resource of a local module changed", map[string]string{"modules/m/m.tf": `resource "terraform_data" "x" { input = "2" }`}, 1},
		{"a comment and a new output", map[string]string{"s/outputs.tf": "# hello\noutput \"o\" { value = 1 }\n"}, 1},
		{"a provider version constraint changed", map[string]string{"s/versions.tf": requireLocal(">= 2.1")}, 2},
		{"a module source changed", map[string]string{"s/main.tf": mainTF("two", "n")}, 3},
		{"the backend block changed", map[string]string{"s/backend.tf": `terraform {
  backend "local" {
    workspace_dir = "ws"
  }
}
`}, 4},
		{"nothing changed again", nil, 4},
	}
	for _, step := range steps {
		writeFiles(t, e.workdir, step.files)
		plan, err := r.Plan(t.Context(), spec)
		require.NoError(t, err, step.what)
		require.True(t, plan.HasChanges(), step.what)
		assert.Equal(t, step.inits, r.inits.Load(), step.what)
	}
	assert.FileExists(t, filepath.Join(spec.DataDir, fingerprintFile))

	require.NoError(t, os.RemoveAll(filepath.Join(spec.DataDir, "tfdata")))
	_, err := r.Plan(t.Context(), spec)
	require.NoError(t, err)
	assert.EqualValues(t, 5, r.inits.Load(), "data dir gone: init again")
}

// TestFingerprintFallsBackToFiles: when the configuration cannot be read, any change of a file
// changes the fingerprint, so init runs and reports the problem.
func TestFingerprintFallsBackToFiles(t *testing.T) {
	r := newTestRunner(t, 0)
	e := newEnv(t)
	dir := filepath.Join(e.workdir, "s")
	fp := func(files map[string]string) string {
		t.Helper()
		writeFiles(t, dir, files)
		j, err := r.newJob(e.spec("s", ""))
		require.NoError(t, err)
		defer j.close()
		f, err := j.fingerprint(nil)
		require.NoError(t, err)
		return f
	}
	good1 := fp(map[string]string{"main.tf": `resource "terraform_data" "x" { input = "1" }`})
	good2 := fp(map[string]string{"main.tf": `resource "terraform_data" "x" { input = "2" }`})
	assert.Equal(t, good1, good2, "a resource change is not an init input")
	bad1 := fp(map[string]string{"main.tf": "resource \"terraform_data\" \"x\" {\n  input = \n}\n"})
	bad2 := fp(map[string]string{"main.tf": "resource \"terraform_data\" \"x\" {\n  input = \n}\n# edited\n"})
	assert.NotEqual(t, good1, bad1)
	assert.NotEqual(t, bad1, bad2, "an unreadable configuration is hashed whole")
}
