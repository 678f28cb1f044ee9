package main

import (
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler/terraform"
)

func TestSandboxModes(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no bwrap to be found
	logs := &logBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))

	_, err := newSandbox(t.Context(), terraform.SandboxRequired, log)
	require.Error(t, err, "required refuses to start without bubblewrap")
	assert.Contains(t, err.Error(), "terraform.sandbox is required: bubblewrap (bwrap) is not installed")

	sb, err := newSandbox(t.Context(), terraform.SandboxAuto, log)
	require.NoError(t, err, "auto starts without it")
	assert.Nil(t, sb)
	assert.Equal(t, 1, logs.count("no sandbox for branch and pull request plans: bubblewrap does not work here; set terraform.sandbox: required to refuse to start instead"))

	sb, err = newSandbox(t.Context(), terraform.SandboxOff, log)
	require.NoError(t, err)
	assert.Nil(t, sb)
	assert.Equal(t, 1, logs.count("terraform.sandbox is off: branch and pull request plans run as plain processes of trueup's user and can read what it can read"))
}

// A GitHub App key where branch code can read it in the sandbox is a start-up error.
func TestPrivateKeyVisibleInTheSandboxIsRefused(t *testing.T) {
	sb, err := terraform.ProbeSandbox(t.Context(), "")
	if err != nil {
		t.Skipf("needs bubblewrap (make tools): %v", err)
	}
	shown := t.TempDir()
	tests := []struct {
		name, key string
		readOnly  []string
		refused   bool
	}{
		{name: "under /usr", key: "/usr/share/trueup/app.pem", refused: true},
		{name: "under /etc/ssl", key: "/etc/ssl/private/app.pem", refused: true},
		{name: "under sandbox_read_only", key: filepath.Join(shown, "keys", "app.pem"), readOnly: []string{shown}, refused: true},
		{name: "hidden /usr/local/etc", key: "/usr/local/etc/trueup/app.pem"},
		{name: "the data dir", key: "/var/lib/trueup/app.pem"},
		{name: "no key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.GitHub.PrivateKeyFile = tt.key
			cfg.Terraform.SandboxReadOnly = tt.readOnly
			err := checkSandboxSecrets(cfg, sb)
			if !tt.refused {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), "is readable by branch plans in the sandbox")
		})
	}
	cfg := DefaultConfig()
	cfg.GitHub.PrivateKeyFile = "/usr/share/trueup/app.pem"
	assert.NoError(t, checkSandboxSecrets(cfg, nil), "without a sandbox there is nothing to check")
}
