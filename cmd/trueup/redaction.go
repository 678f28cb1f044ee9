package main

import (
	"context"
	"os"
	"time"

	"github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/redact"
)

// issuedLifetime bounds how long a credential issued to a run is remembered for redaction: STS
// sessions last at most 12 hours.
const issuedLifetime = 12 * time.Hour

// redactedCredentials registers every credential it hands to a Terraform run as a secret.
type redactedCredentials struct {
	next   reconciler.Credentials
	secret *redact.Set
}

var _ reconciler.Credentials = redactedCredentials{}

func (c redactedCredentials) Env(ctx context.Context, req reconciler.CredentialRequest) (map[string]string, error) {
	env, err := c.next.Env(ctx, req)
	if err != nil {
		return nil, err
	}
	expires := time.Now().Add(issuedLifetime)
	for k, v := range env {
		if redact.SecretLooking(k) || k == "AWS_ACCESS_KEY_ID" {
			c.secret.AddExpiring(expires, v)
		}
	}
	return env, nil
}

// addPassEnvSecrets registers the values of pass_env variables whose names look secret.
func addPassEnvSecrets(set *redact.Set, cfg Config) {
	for _, names := range [][]string{cfg.Terraform.PassEnv.Main, cfg.Terraform.PassEnv.Plans} {
		for _, name := range names {
			if v := os.Getenv(name); v != "" && redact.SecretLooking(name) {
				set.Add(v)
			}
		}
	}
}
