package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/trueup/trueup/git/deliveries"
	"github.com/trueup/trueup/git/github"
	"github.com/trueup/trueup/reconciler"
)

// gitHub is the GitHub side of trueup: the forge and the webhook secret.
type gitHub struct {
	forge         *github.Forge
	app           bool
	webhookSecret string
	repository    string
	log           *slog.Logger
	// deliveries records webhook deliveries where every replica sees them; nil keeps them in memory.
	deliveries deliveries.Shared
}

// setDeliveries makes the webhook record deliveries in shared (replicas); g may be nil (no GitHub).
func (g *gitHub) setDeliveries(shared deliveries.Shared) {
	if g != nil {
		g.deliveries = shared
	}
}

// newGitHub returns nil when no github section is configured.
func newGitHub(ctx context.Context, cfg Config, sec *secrets, log *slog.Logger) (*gitHub, error) {
	c := cfg.GitHub
	if c.Owner == "" {
		return nil, nil
	}
	opts := github.Options{Owner: c.Owner, Repo: c.Repo, APIURL: c.APIURL, Logger: log}
	app := c.AppID != 0
	if app {
		opts.AppID, opts.InstallationID, opts.PrivateKeyFile = c.AppID, c.InstallationID, c.PrivateKeyFile
	} else {
		// Read once now so a missing token fails at start, then on every use (secrets may rotate).
		if _, err := sec.optional(ctx, "github.token", c.TokenEnv, c.TokenSecretARN); err != nil {
			return nil, err
		}
		opts.TokenFunc = sec.dynamic(ctx, "github.token", c.TokenEnv, c.TokenSecretARN)
	}
	forge, err := github.New(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("github: %w", err)
	}
	secret, err := sec.optional(ctx, "github.webhook_secret", c.WebhookSecretEnv, c.WebhookSecretSecretARN)
	if err != nil {
		return nil, err
	}
	if secret == "" {
		log.Warn("github.webhook_secret_env is not set: webhooks are refused; trueup relies on polling")
	}
	return &gitHub{forge: forge, app: app, webhookSecret: secret, repository: c.Owner + "/" + c.Repo, log: log}, nil
}

// webhook returns the webhook handler, or one that refuses every delivery when no secret is set:
// go-github skips signature validation for an empty secret, so trueup never accepts unsigned webhooks.
func (g *gitHub) webhook(sink github.Sink) http.Handler {
	if g.webhookSecret == "" {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"webhooks are refused: github.webhook_secret_env is not configured"}` + "\n"))
		})
	}
	h, err := github.NewWebhookHandler(github.WebhookOptions{
		Secret: []byte(g.webhookSecret), Sink: sink, Repository: g.repository, Logger: g.log, Deliveries: g.deliveries,
	})
	if err != nil {
		g.log.Error("webhook handler", "err", err)
		return http.NotFoundHandler()
	}
	return h
}

var _ github.Sink = (*reconciler.Reconciler)(nil)
