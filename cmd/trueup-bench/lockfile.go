package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// providerLockFile returns a .terraform.lock.hcl pinning the hashicorp/local provider of the
// mirror, made by one terraform init in a scratch stack. Real repositories commit this file; with
// it, trueup's inits link the provider from the shared plugin cache instead of installing it.
func (e *env) providerLockFile() (string, error) {
	dir, err := e.dir("lockfile")
	if err != nil {
		return "", err
	}
	config := "terraform {\n  required_providers {\n    local = { source = \"hashicorp/local\" }\n  }\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(config), 0o644); err != nil {
		return "", err
	}
	cmd := exec.Command(e.terraform, "init", "-input=false", "-no-color", "-backend=false")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+e.tfrc, "CHECKPOINT_DISABLE=1", "TF_DATA_DIR="+filepath.Join(dir, ".terraform"))
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("terraform init for the lock file: %w: %s", err, strings.TrimSpace(string(out)))
	}
	b, err := os.ReadFile(filepath.Join(dir, ".terraform.lock.hcl"))
	if err != nil {
		return "", fmt.Errorf("terraform init for the lock file: %w", err)
	}
	return string(b), nil
}
