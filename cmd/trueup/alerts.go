package main

import (
	"context"
	"log/slog"

	"github.com/trueup/trueup/notifier/slack"
	"github.com/trueup/trueup/reconciler"
)

// newAlerts returns the durable notifier (Slack) or nil when none is configured.
func newAlerts(ctx context.Context, cfg Config, sec *secrets, log *slog.Logger) (reconciler.Notifier, error) {
	c := cfg.Slack
	url, err := sec.optional(ctx, "slack.webhook_url", c.WebhookURLEnv, c.WebhookURLSecretARN)
	if err != nil || url == "" {
		return nil, err
	}
	if c.WebhookURLSecretARN != "" {
		// Read on each delivery: the reader caches it and picks up a rotated URL.
		return slack.New(slack.Options{URLFunc: sec.dynamic(ctx, "slack.webhook_url", c.WebhookURLEnv, c.WebhookURLSecretARN), Logger: log})
	}
	return slack.New(slack.Options{URL: url, Logger: log})
}
