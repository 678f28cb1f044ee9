package remote

import "context"

// Launch is what an Executor needs to start one runner. Token is the run's one-time credential:
// an Executor hands it to the runner only (an environment variable or a file of the runner's,
// never a log line or a label).
type Launch struct {
	RunID string
	// URL is the control plane's base URL as the runner reaches it ("http://10.0.0.5:8080").
	URL   string
	Token string
	// Purpose selects the runner's identity on the platform (a task definition, a service account):
	// a plan runner never holds the apply identity.
	Purpose Purpose
	// Stack and Untrusted are for the platform's labels and logs.
	Stack     string
	Untrusted bool
}

// Env is the runner's environment for l: TRUEUP_RUN_ID, TRUEUP_CONTROL_URL, TRUEUP_RUN_TOKEN.
func (l Launch) Env() map[string]string {
	return map[string]string{EnvRunID: l.RunID, EnvControlURL: l.URL, EnvRunToken: l.Token}
}

// The runner's environment variables.
const (
	EnvRunID      = "TRUEUP_RUN_ID"
	EnvControlURL = "TRUEUP_CONTROL_URL"
	EnvRunToken   = "TRUEUP_RUN_TOKEN"
	// EnvRunTokenFile names a file holding the token, in place of EnvRunToken (a mounted secret).
	EnvRunTokenFile = "TRUEUP_RUN_TOKEN_FILE"
)

// Executor starts runners on a platform.
type Executor interface {
	// Start asks the platform for a runner for l and returns once the platform has accepted it
	// (not once it runs). An error means no runner was started; it carries the platform's reason.
	Start(ctx context.Context, l Launch) (Task, error)
}

// Task is one runner on its platform.
type Task interface {
	// Wait blocks until the runner has ended or ctx ends. It returns nil for a runner that exited
	// cleanly, else an error with the platform's reason (exit status, stop reason, OOM...).
	Wait(ctx context.Context) error
	// Stop ends the runner: first asking it to stop, then forcing it. It is idempotent and returns
	// once the runner has ended or ctx ends.
	Stop(ctx context.Context, reason string) error
}
