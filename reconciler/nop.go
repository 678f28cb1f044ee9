package reconciler

import "context"

// No-op implementations of the optional ports, set by New when Options leaves them nil, so the
// code that uses them never checks.

type nopHooks struct{}

func (nopHooks) AfterApply(context.Context, Stack, Revision, string) error { return nil }

type nopCredentials struct{}

func (nopCredentials) Env(context.Context, CredentialRequest) (map[string]string, error) {
	return nil, nil
}
