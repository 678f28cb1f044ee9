// Package tftest finds the Terraform binary and CLI configuration that tests run against.
//
// `make tools` builds Terraform and the hashicorp/local provider into the repository's .tools/
// directory and exports TRUEUP_TERRAFORM and TRUEUP_TERRAFORMRC; plain `go test` finds the same
// files by walking up from the test's working directory to the module root.
package tftest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Tools returns the Terraform binary and the CLI configuration file that serves the local
// provider from the offline mirror. Under `go test -short` it skips the test (real Terraform
// is slow); otherwise a missing tool fails the test, because a silently skipped integration
// test proves nothing.
func Tools(t testing.TB) (binary, cliConfig string) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs real terraform; skipped with -short")
	}
	binary, cliConfig, err := find()
	if err != nil {
		t.Fatalf("%v: run `make tools` (or set TRUEUP_TERRAFORM and TRUEUP_TERRAFORMRC)", err)
	}
	return binary, cliConfig
}

func find() (binary, cliConfig string, err error) {
	binary, cliConfig = os.Getenv("TRUEUP_TERRAFORM"), os.Getenv("TRUEUP_TERRAFORMRC")
	if binary == "" || cliConfig == "" {
		root, err := RepoRoot()
		if err != nil {
			return "", "", err
		}
		if binary == "" {
			binary = filepath.Join(root, ".tools", "bin", "terraform")
		}
		if cliConfig == "" {
			cliConfig = filepath.Join(root, ".tools", "terraformrc")
		}
	}
	for _, p := range []string{binary, cliConfig} {
		if _, err := os.Stat(p); err != nil {
			return "", "", err
		}
	}
	return binary, cliConfig, nil
}

// RepoRoot returns the module root: the first directory holding go.mod at or above the working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// BuildCommand builds the repository's command pkg ("./cmd/trueup") into dir with the go tool that
// runs the tests, and returns the binary's path.
func BuildCommand(dir, pkg string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, filepath.Base(pkg))
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		goTool = "go"
	}
	cmd := exec.Command(goTool, "build", "-o", bin, pkg)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, out)
	}
	return bin, nil
}
