package main

import (
	"context"
	"log/slog"

	"github.com/trueup/trueup/notifier/slack"
	"github.com/trueup/trueup/reconciler"
)

// newAlerts returns the durable notifier (Slack) or nil when none is configured.
func newAlerts(ctx context.Context, cfg Config, sec *secrets, log *slog.Logger) (reconciler.Notifier, error) {
	url, err := sec.optional(ctx, "slack.webhook_url", cfg.Slack.WebhookURLEnv, cfg.Slack.WebhookURLSecretARN)
	if err != nil || url == "" {
		return nil, err
	}
	return slack.New(slack.Options{URL: url, Logger: log})
}
