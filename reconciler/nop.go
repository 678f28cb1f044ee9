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

// nopForge is no code host: no pull requests, and statuses and comments go nowhere. Branches are
// still planned, and main is applied as pushed.
type nopForge struct{}

func (nopForge) OpenPulls(context.Context, string) ([]PullRequest, error) { return nil, nil }
func (nopForge) Pull(context.Context, int) (PullRequest, error)           { return PullRequest{}, ErrNotFound }
func (nopForge) SetStatus(context.Context, Revision, string, StatusState, string) error {
	return nil
}
func (nopForge) Comment(context.Context, PullReport) error { return nil }
