package terraform

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProviderAddr(t *testing.T) {
	tests := []struct{ name, source, want string }{
		{"local", "", "registry.terraform.io/hashicorp/local"},
		{"aws", "hashicorp/aws", "registry.terraform.io/hashicorp/aws"},
		{"x", "example.com/Acme/X", "example.com/acme/x"},
		{"terraform", "", ""},
		{"terraform", "terraform.io/builtin/terraform", ""},
		{"bad", "a/b/c/d", "?a/b/c/d"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, providerAddr(tt.name, tt.source), "%s %s", tt.name, tt.source)
	}
}

func TestCacheReadOnly(t *testing.T) {
	const lock = `provider "registry.terraform.io/hashicorp/local" {
  version = "2.5.2"
  hashes  = ["h1:x"]
}
`
	platform := runtime.GOOS + "_" + runtime.GOARCH
	warm := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(warm, "registry.terraform.io", "hashicorp", "local", "2.5.2", platform), 0o755))
	cold := t.TempDir()

	tests := []struct {
		name  string
		files map[string]string
		cache string
		want  bool
	}{
		{"locked and cached", map[string]string{"main.tf": `resource "local_file" "a" {}`, ".terraform.lock.hcl": lock}, warm, true},
		{"built-in provider only", map[string]string{"main.tf": `resource "terraform_data" "a" {}`, ".terraform.lock.hcl": ""}, warm, true},
		{"not in cache", map[string]string{"main.tf": `resource "local_file" "a" {}`, ".terraform.lock.hcl": lock}, cold, false},
		{"no lock file", map[string]string{"main.tf": `resource "local_file" "a" {}`}, warm, false},
		{"provider not locked", map[string]string{"main.tf": `resource "local_file" "a" {}
resource "null_resource" "b" {}`, ".terraform.lock.hcl": lock}, warm, false},
		{"local module needs unlocked provider", map[string]string{
			"s/main.tf": `module "m" { source = "../m" }`, "s/.terraform.lock.hcl": lock,
			"m/main.tf": `resource "random_id" "x" {}`,
		}, warm, false},
		{"local module covered", map[string]string{
			"s/main.tf": `module "m" { source = "../m" }`, "s/.terraform.lock.hcl": lock,
			"m/main.tf": `resource "local_file" "x" {}`,
		}, warm, true},
		{"remote module", map[string]string{
			"s/main.tf": `module "m" { source = "hashicorp/consul/aws" }`, "s/.terraform.lock.hcl": lock,
		}, warm, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			stack := "."
			if _, err := os.Stat(filepath.Join(dir, "s")); err == nil {
				stack = "s"
			}
			assert.Equal(t, tt.want, cacheReadOnly(testCheckout(t, dir), stack, tt.cache))
		})
	}
}

func TestFillCache(t *testing.T) {
	providers, cache := t.TempDir(), t.TempDir()
	mirror := filepath.Join(t.TempDir(), "mirror")
	writeFiles(t, mirror, map[string]string{"terraform-provider-b": "binary b"})
	// A downloaded package (a directory), an unpacked-mirror link, and one the cache already has.
	writeFiles(t, providers, map[string]string{
		"registry.terraform.io/hashicorp/a/1.0.0/linux_amd64/terraform-provider-a": "binary a",
		"registry.terraform.io/hashicorp/c/1.0.0/linux_amd64/terraform-provider-c": "new c",
	})
	require.NoError(t, os.MkdirAll(filepath.Join(providers, "registry.terraform.io/hashicorp/b/2.0.0"), 0o755))
	require.NoError(t, os.Symlink(mirror, filepath.Join(providers, "registry.terraform.io/hashicorp/b/2.0.0/linux_amd64")))
	writeFiles(t, cache, map[string]string{"registry.terraform.io/hashicorp/c/1.0.0/linux_amd64/terraform-provider-c": "cached c"})
	require.NoError(t, os.Chmod(filepath.Join(providers, "registry.terraform.io/hashicorp/a/1.0.0/linux_amd64/terraform-provider-a"), 0o755))

	require.NoError(t, fillCache(providers, cache))

	a := filepath.Join(cache, "registry.terraform.io/hashicorp/a/1.0.0/linux_amd64/terraform-provider-a")
	b, err := os.ReadFile(a)
	require.NoError(t, err)
	assert.Equal(t, "binary a", string(b))
	fi, err := os.Stat(a)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o755), fi.Mode().Perm(), "executable bit kept")

	link, err := os.Readlink(filepath.Join(cache, "registry.terraform.io/hashicorp/b/2.0.0/linux_amd64"))
	require.NoError(t, err)
	assert.Equal(t, mirror, link)

	b, err = os.ReadFile(filepath.Join(cache, "registry.terraform.io/hashicorp/c/1.0.0/linux_amd64/terraform-provider-c"))
	require.NoError(t, err)
	assert.Equal(t, "cached c", string(b), "an existing entry is never replaced")

	leftovers, err := filepath.Glob(filepath.Join(cache, "*", "*", "*", "*", ".trueup-*"))
	require.NoError(t, err)
	assert.Empty(t, leftovers)
}
