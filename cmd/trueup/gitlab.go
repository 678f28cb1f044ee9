package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/trueup/trueup/git"
	"github.com/trueup/trueup/git/deliveries"
	"github.com/trueup/trueup/git/gitlab"
	"github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/redact"
)

// gitLab is the GitLab side of trueup: the forge and the webhook's secret token.
type gitLab struct {
	forge         *gitlab.Forge
	webhookSecret string
	project       string
	log           *slog.Logger
	// deliveries records webhook deliveries where every replica sees them; nil keeps them in memory.
	deliveries deliveries.Shared
}

// setDeliveries makes the webhook record deliveries in shared (replicas); g may be nil (no GitLab).
func (g *gitLab) setDeliveries(shared deliveries.Shared) {
	if g != nil {
		g.deliveries = shared
	}
}

// newGitLab returns nil when no gitlab section is configured.
func newGitLab(ctx context.Context, cfg Config, sec *secrets, log *slog.Logger) (*gitLab, error) {
	c := cfg.GitLab
	if c.Project == "" {
		return nil, nil
	}
	// Read once now so a missing token fails at start, then on every use (secrets may rotate).
	if _, err := sec.optional(ctx, "gitlab.token", c.TokenEnv, c.TokenSecretARN); err != nil {
		return nil, err
	}
	forge, err := gitlab.New(ctx, gitlab.Options{
		Project: c.Project, APIURL: c.APIURL, Logger: log,
		TokenFunc: sec.dynamic(ctx, "gitlab.token", c.TokenEnv, c.TokenSecretARN),
	})
	if err != nil {
		return nil, fmt.Errorf("gitlab: %w", err)
	}
	secret, err := sec.optional(ctx, "gitlab.webhook_secret", c.WebhookSecretEnv, c.WebhookSecretSecretARN)
	if err != nil {
		return nil, err
	}
	if secret == "" {
		log.Warn("gitlab.webhook_secret_env is not set: webhooks are refused; trueup relies on polling")
	}
	return &gitLab{forge: forge, webhookSecret: secret, project: c.Project, log: log}, nil
}

// webhook returns the webhook handler, or one that refuses every delivery when no secret is set.
func (g *gitLab) webhook(sink gitlab.Sink) http.Handler {
	if g.webhookSecret == "" {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"webhooks are refused: gitlab.webhook_secret_env is not configured"}` + "\n"))
		})
	}
	h, err := gitlab.NewWebhookHandler(gitlab.WebhookOptions{
		Secret: []byte(g.webhookSecret), Sink: sink, Project: g.project, Logger: g.log, Deliveries: g.deliveries,
	})
	if err != nil {
		g.log.Error("gitlab webhook handler", "err", err)
		return http.NotFoundHandler()
	}
	return h
}

var _ gitlab.Sink = (*reconciler.Reconciler)(nil)

// gitOptions makes git follow GitLab's merge request heads (refs/merge-requests/N/head) and, unless
// repo.token_env names a token of its own, authenticate over https with the GitLab token (user
// "oauth2").
func (g *gitLab) gitOptions(opts *git.Options) {
	opts.PullRefs = git.PullRefsGitLab
	opts.Username = gitlab.GitUsername
	if opts.Token == "" && opts.TokenFunc == nil && opts.Auth == nil {
		opts.TokenFunc = g.forge.GitToken
	}
}

// setCodeHost gives the reconciler the configured code host (GitHub or GitLab; the configuration
// allows one), its comment commands, and who may approve.
func setCodeHost(opts *reconciler.Options, cfg Config, gh *gitHub, gl *gitLab, known *redact.Set) {
	switch {
	case gh != nil:
		opts.Forge = known.Forge(gh.forge)
		opts.Commander, opts.AllowSelfApprove = gh.forge, cfg.GitHub.AllowSelfApprove
	case gl != nil:
		opts.Forge = known.Forge(gl.forge)
		opts.Commander, opts.AllowSelfApprove = gl.forge, cfg.GitLab.AllowSelfApprove
	}
}
