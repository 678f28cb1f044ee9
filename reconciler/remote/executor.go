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
	// Meta describes the run (its key, its token's SHA-256, its purpose): an Executor keeps it with
	// the runner on the platform (annotations, tags) and gives it back from InFlight, so that a
	// restarted trueup, or a new leader, can adopt the runner. It holds no secret. Keys are
	// MetaPrefix + a short name; values are [A-Za-z0-9_.:/=+-@]*, at most 256 bytes (ECS tags).
	Meta map[string]string
}

// MetaPrefix starts every key of Launch.Meta.
const MetaPrefix = "trueup.dev/"

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

// Adopter is an Executor that can find the runners it started which have not ended: those of a
// trueup that restarted, or of the leader before this one. The platform is the record: a Job's
// labels and annotations, a task's StartedBy and tags.
type Adopter interface {
	// InFlight lists the runners this executor's platform still runs (or is starting) under
	// trueup's mark. A listing that fails is an error; a runner that cannot be read is left out.
	InFlight(ctx context.Context) ([]InFlight, error)
}

// InFlight is one runner found on the platform.
type InFlight struct {
	RunID string
	// Meta is the Launch.Meta the runner was started with.
	Meta map[string]string
	// Task waits for and stops the runner, as the Task Start returned would.
	Task Task
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
