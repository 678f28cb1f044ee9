package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
)

// secrets resolves the secrets named in the configuration. A secret is given by the name of an
// environment variable that holds it; it is never written in the config file nor logged.
type secrets struct{}

func newSecrets(ctx context.Context, cfg Config) (*secrets, error) {
	return &secrets{}, nil
}

// optional returns the secret named by env (or arn), "" when neither is configured. A named variable
// that is unset or empty is an error: the operator asked for a secret that is not there.
func (s *secrets) optional(ctx context.Context, what, env, arn string) (string, error) {
	if arn != "" {
		return "", fmt.Errorf("%s: secret ARNs are not supported yet; use an environment variable", what)
	}
	if env == "" {
		return "", nil
	}
	v := os.Getenv(env)
	if v == "" {
		return "", fmt.Errorf("%s: environment variable %s is not set", what, env)
	}
	return v, nil
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
