package main

import (
	"log/slog"
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
