package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"github.com/trueup/trueup/reconciler/redact"
)

// secretReader reads a secret by AWS Secrets Manager ARN (optionally with a "#key" suffix).
type secretReader interface {
	Get(ctx context.Context, ref string) (string, error)
}

// secrets resolves the secrets named in the configuration: an environment variable's name (*_env) or
// a Secrets Manager ARN (*_secret_arn). Values are never written in the config file nor logged.
type secrets struct {
	arns secretReader // nil when no *_secret_arn is configured
	// known collects every value read, so it is redacted from everything that leaves the process.
	known *redact.Set
}

func newSecrets(ctx context.Context, cfg Config, known *redact.Set, log *slog.Logger) (*secrets, error) {
	if !cfg.usesSecretARNs() {
		return &secrets{known: known}, nil
	}
	r, err := newSecretsManager(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	return &secrets{arns: r, known: known}, nil
}

func (c Config) usesSecretARNs() bool {
	for _, arn := range []string{c.Repo.TokenSecretARN, c.Slack.WebhookURLSecretARN, c.GitHub.TokenSecretARN,
		c.GitHub.WebhookSecretSecretARN, c.GitLab.TokenSecretARN, c.GitLab.WebhookSecretSecretARN, c.API.TokenSecretARN,
		c.Store.postgres().DSNSecretARN, c.Store.postgres().StateDSNSecretARN} {
		if arn != "" {
			return true
		}
	}
	return false
}

// optional returns the secret named by env or arn, "" when neither is configured. A named variable that
// is unset or empty, or a secret that cannot be read, is an error: the operator asked for it.
func (s *secrets) optional(ctx context.Context, what, env, arn string) (string, error) {
	switch {
	case env != "" && arn != "":
		return "", fmt.Errorf("%s: set either the _env or the _secret_arn key, not both", what)
	case arn != "":
		if s.arns == nil {
			return "", fmt.Errorf("%s: no Secrets Manager client", what)
		}
		v, err := s.arns.Get(ctx, arn)
		if err != nil {
			return "", fmt.Errorf("%s: %w", what, err)
		}
		s.known.Add(v)
		return v, nil
	case env != "":
		v := strings.TrimSpace(os.Getenv(env))
		if v == "" {
			return "", fmt.Errorf("%s: environment variable %s is not set", what, env)
		}
		s.known.Add(v)
		return v, nil
	}
	return "", nil
}

// dynamic returns a function that reads the secret on every call, so a rotated secret is picked up
// (Secrets Manager values are cached and refreshed by the reader).
func (s *secrets) dynamic(_ context.Context, what, env, arn string) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) { return s.optional(ctx, what, env, arn) }
}

// redactURL removes credentials from a URL before it is logged.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = url.User("redacted")
	return u.String()
}
