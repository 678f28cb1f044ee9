// Package api is trueup's HTTP surface: health and readiness probes, Prometheus metrics, the GitHub
// webhook, and a small JSON API over the stacks and pull request plans that `trueup status`,
// `trueup approve` and `trueup reconcile` talk to.
//
// With a token configured (api.token_env), every request under /api/v1 needs `Authorization:
// Bearer <token>`, reads included: they show the plans of untrusted branches, resource addresses
// and error texts. Without a token, reads (GET) are open to anyone who can reach the listener — the
// listener then belongs on a private network (a cluster-internal Service, a security group), as in
// the deployment examples — and mutations (approve, reconcile) are refused. /healthz, /readyz and
// /metrics never need the token, and readiness names only the check that failed, never an error's
// text. The webhook authenticates by its signature; pprof always needs the token. Every JSON
// answer passes through Options.Redact before it is sent.
package api

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/trueup/trueup/reconciler"
)

// Backend is what the API reads and asks of the reconciler. *reconciler.Reconciler implements it.
type Backend interface {
	// Stacks returns every stack's status, sorted by name.
	Stacks(ctx context.Context) ([]reconciler.StackStatus, error)
	// Stack returns one stack's status, or an error wrapping reconciler.ErrNotFound.
	Stack(ctx context.Context, name string) (reconciler.StackStatus, error)
	// Reconcile queues work for the stack now, or returns an error wrapping reconciler.ErrNotFound.
	Reconcile(ctx context.Context, name string) error
	// Approve lets the held apply of the stack at rev (a full hash or a prefix of at least 7 digits) go
	// ahead and returns the full revision. Errors wrap reconciler.ErrNotFound for an unknown stack and
	// reconciler.ErrConflict when nothing is held or a different revision is.
	Approve(ctx context.Context, name, rev string) (reconciler.Revision, error)
	// Health reports the last successful poll and the last poll error.
	Health() reconciler.Health
	// StoreOK returns nil when the store answers.
	StoreOK(ctx context.Context) error
	// PullPlans returns the plans recorded for pull request number, sorted by stack, with their full
	// rendering, or an error wrapping reconciler.ErrNotFound when none is recorded.
	PullPlans(ctx context.Context, number int) ([]reconciler.BranchPlan, error)
}

var _ Backend = (*reconciler.Reconciler)(nil)

// Options configure a Server.
type Options struct {
	// Backend answers the API; required.
	Backend Backend
	// Token is the bearer token every /api/v1 request must present, reads included. Empty leaves the
	// reads open and refuses every mutation with 403.
	Token string
	// Webhook serves POST /webhooks/github; nil answers 404. It owns its body limit and responses.
	Webhook http.Handler
	// GitLabWebhook serves POST /webhooks/gitlab; nil answers 404. It owns its body limit and responses.
	GitLabWebhook http.Handler
	// Runners serves the remote runners' protocol under /runner/v1/ (reconciler/remote); nil
	// answers 404. It authenticates by each run's token, never by Token.
	Runners http.Handler
	// Metrics serves GET /metrics; nil answers 404.
	Metrics http.Handler
	// Leadership says which replica leads, for GET /api/v1/leader; nil means one replica, which leads.
	Leadership func() Leadership
	// Profiling serves Go's pprof endpoints under /debug/pprof/, behind the bearer token.
	Profiling bool
	// PollInterval is the daemon's poll interval: readiness fails when the last successful poll is
	// older than three of them. Required.
	PollInterval time.Duration
	// Logger receives the access log at debug level and server errors; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Redact rewrites every string of every JSON answer before it is sent, e.g. replacing the known
	// secrets with "***"; nil sends them as they are. It is defence in depth, not the boundary: the
	// secrets should not reach an answer at all. Webhook, Metrics and pprof answers are their own.
	Redact func(string) string
}

// maxBody caps the request bodies of the API's own endpoints.
const maxBody = 1 << 20

// storeCheckTimeout bounds the store check of one readiness probe.
const storeCheckTimeout = 5 * time.Second

// Server is trueup's HTTP API. It is safe for concurrent use.
type Server struct {
	backend       Backend
	tokenSum      [sha256.Size]byte
	hasToken      bool
	webhook       http.Handler
	gitlabWebhook http.Handler
	metrics       http.Handler
	runners       http.Handler
	profiling     bool
	pollInterval  time.Duration
	log           *slog.Logger
	now           func() time.Time
	redact        func(string) string
	leadership    func() Leadership
	handler       http.Handler
}

// New returns a Server, or an error when a required option is missing.
func New(opts Options) (*Server, error) {
	if opts.Backend == nil {
		return nil, errors.New("api: no backend")
	}
	if opts.PollInterval <= 0 {
		return nil, errors.New("api: poll interval must be positive")
	}
	s := &Server{
		backend: opts.Backend, webhook: opts.Webhook, gitlabWebhook: opts.GitLabWebhook, metrics: opts.Metrics, runners: opts.Runners,
		profiling: opts.Profiling, pollInterval: opts.PollInterval, log: opts.Logger, now: opts.Now, redact: opts.Redact, leadership: opts.Leadership,
	}
	if s.leadership == nil {
		s.leadership = func() Leadership { return Leadership{Leading: true} }
	}
	if opts.Token != "" {
		// Only the digest is kept: comparing equal-length digests keeps the token's length from leaking.
		s.tokenSum, s.hasToken = sha256.Sum256([]byte(opts.Token)), true
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.handler = s.accessLog(s.routes())
	return s, nil
}

// Handler returns the server's routes:
//
//	GET  /healthz                              200 while the process serves HTTP
//	GET  /readyz                               200 when the store answers and a poll succeeded recently (a
//	                                           standby: when the store answers), else 503
//	GET  /metrics                              Prometheus exposition (Options.Metrics)
//	POST /webhooks/github                      GitHub webhook intake (Options.Webhook)
//	POST /webhooks/gitlab                      GitLab webhook intake (Options.GitLabWebhook)
//	GET  /api/v1/stacks                        {"stacks": [StackStatus...]}                     (token if configured)
//	GET  /api/v1/stacks/{stack...}             StackStatus                                      (token if configured)
//	GET  /api/v1/pulls/{number}                {"number": N, "plans": [BranchPlan...]}          (token if configured)
//	GET  /api/v1/leader                        Leadership: which replica leads                  (token if configured)
//	POST /api/v1/stacks/{stack...}/reconcile   202 {"status":"queued"}                          (token)
//	POST /api/v1/stacks/{stack...}/approve     {"revision":"<sha>"} → {"approved":"<full sha>"} (token)
//	GET  /debug/pprof/...                      Go's pprof endpoints, when Options.Profiling     (token)
//	*    /runner/v1/...                        the runner protocol, when Options.Runners        (the run's token)
//
// "token" is `Authorization: Bearer <Options.Token>`. Stack names contain slashes ("stacks/app").
// Every response of the API's own routes, errors included, is JSON: {"error": "..."} with 400,
// 401, 403, 404, 405, 409 or 500.
func (s *Server) Handler() http.Handler { return s.handler }

// HTTPServer returns an http.Server for addr serving Handler, with timeouts that keep slow or idle
// clients from holding connections.
func (s *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/healthz", s.byMethod(methods{http.MethodGet: s.healthz}))
	mux.Handle("/readyz", s.byMethod(methods{http.MethodGet: s.readyz}))
	mux.Handle("/metrics", s.byMethod(methods{http.MethodGet: s.delegate(s.metrics, "metrics are not enabled")}))
	mux.Handle("/webhooks/github", s.byMethod(methods{http.MethodPost: s.delegate(s.webhook, "the GitHub webhook is not configured")}))
	mux.Handle("/webhooks/gitlab", s.byMethod(methods{http.MethodPost: s.delegate(s.gitlabWebhook, "the GitLab webhook is not configured")}))
	// Every /api/v1 route is registered through guard.
	mux.Handle("/api/v1/stacks", s.guard(s.byMethod(methods{http.MethodGet: s.listStacks})))
	mux.Handle("/api/v1/stacks/{stack...}", s.guard(http.HandlerFunc(s.stack)))
	mux.Handle("/api/v1/pulls/{number}", s.guard(s.byMethod(methods{http.MethodGet: s.pull})))
	mux.Handle("/api/v1/leader", s.guard(s.byMethod(methods{http.MethodGet: s.leader})))
	if s.runners != nil {
		mux.Handle("/runner/v1/", s.runners)
	}
	if s.profiling {
		mux.Handle("/debug/pprof/", s.pprofHandler())
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, http.StatusNotFound, "no route for "+r.URL.Path)
	})
	return mux
}

// delegate serves h, or a JSON 404 saying why when h is nil.
func (s *Server) delegate(h http.Handler, missing string) http.HandlerFunc {
	if h == nil {
		return func(w http.ResponseWriter, r *http.Request) { s.writeError(w, http.StatusNotFound, missing) }
	}
	return h.ServeHTTP
}
