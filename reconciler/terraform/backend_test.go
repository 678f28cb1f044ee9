package terraform

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadBackend(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  backendDecl
	}{
		{"none", map[string]string{"main.tf": `resource "terraform_data" "x" {}`}, backendDecl{Parsed: true}},
		{"s3", map[string]string{"backend.tf": "terraform {\n  backend \"s3\" {\n    bucket = \"b\"\n  }\n}\n"}, backendDecl{Parsed: true, Type: "s3"}},
		{"cloud", map[string]string{"main.tf": "terraform {\n  cloud {\n    organization = \"o\"\n  }\n}\n"}, backendDecl{Parsed: true, Type: "cloud"}},
		{"local relative", map[string]string{"main.tf": localBackend("x.tfstate")}, backendDecl{Parsed: true, Type: "local", Path: "x.tfstate"}},
		{"local no path", map[string]string{"main.tf": "terraform {\n  backend \"local\" {}\n}\n"}, backendDecl{Parsed: true, Type: "local"}},
		{"json", map[string]string{"main.tf.json": `{"terraform": {"backend": {"local": {"path": "/abs/s.tfstate"}}}}`}, backendDecl{Parsed: true, Type: "local", Path: "/abs/s.tfstate"}},
		{"user override wins", map[string]string{
			"a_override.tf": "terraform {\n  backend \"gcs\" {}\n}\n",
			"z.tf":          "terraform {\n  backend \"s3\" {}\n}\n",
		}, backendDecl{Parsed: true, Type: "gcs"}},
		{"own override ignored", map[string]string{"main.tf": `resource "terraform_data" "x" {}`, OverrideFile: overrideContent}, backendDecl{Parsed: true}},
		{"syntax error", map[string]string{"main.tf": "terraform {\n  backend \"s3\" {\n"}, backendDecl{}},
		{"non-literal path", map[string]string{"main.tf": "terraform {\n  backend \"local\" {\n    path = var.p\n  }\n}\n"}, backendDecl{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			got, err := readBackend(testCheckout(t, dir), ".")
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	_, err := readBackend(testCheckout(t, t.TempDir()), "missing")
	assert.Error(t, err)
}

func testCheckout(t *testing.T, dir string) checkoutFS {
	t.Helper()
	co, err := openCheckout(dir)
	require.NoError(t, err)
	t.Cleanup(co.close)
	return co
}
