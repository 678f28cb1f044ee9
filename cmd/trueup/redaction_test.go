package main

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/trueup/trueup/reconciler/redact"
)

// Values of pass_env variables whose names look secret are redacted; others are not, and a listed
// variable that is unset adds nothing.
func TestPassEnvSecretsAreRedacted(t *testing.T) {
	t.Setenv("ARM_CLIENT_SECRET", "arm-client-secret-value")
	t.Setenv("DEPLOY_TOKEN", "deploy-token-value")
	t.Setenv("ARM_CLIENT_ID", "arm-client-id-value")
	cfg := DefaultConfig()
	cfg.Terraform.PassEnv.Main = []string{"ARM_CLIENT_SECRET", "UNSET_PASSWORD"}
	cfg.Terraform.PassEnv.Plans = []string{"ARM_CLIENT_ID", "DEPLOY_TOKEN"}
	set := redact.New()
	addPassEnvSecrets(set, cfg)
	got := set.Redact("a=arm-client-secret-value b=deploy-token-value c=arm-client-id-value")
	assert.Equal(t, "a=*** b=*** c=arm-client-id-value", got)
}
