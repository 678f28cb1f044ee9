package aws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/trueup/trueup/reconciler"
)

// webhookTimeout bounds one on_apply webhook call.
const webhookTimeout = 10 * time.Second

// HooksOptions configures NewHooks.
type HooksOptions struct {
	// AWSConfig is trueup's own identity, used for ECS when a stack has no role.
	AWSConfig awssdk.Config
	// ECSEndpoint overrides the ECS endpoint (tests, VPC endpoints).
	ECSEndpoint string
	// Credentials gives the ECS call the stack's apply role; nil uses AWSConfig for every stack.
	Credentials *Credentials
	// Branch is the applied branch, for session tags (trueup:branch). Set it to the branch the
	// reconciler's applies name, so the ECS call reuses the apply's cached session.
	Branch string
	// HTTPClient sends webhooks; nil is a client with a 10 s timeout.
	HTTPClient *http.Client
	// Getenv reads the webhook URL's environment variable; nil is os.Getenv.
	Getenv func(string) string
	// Logger receives one line per hook run, never URLs or credentials; nil discards.
	Logger *slog.Logger
}

// Hooks is the reconciler.Hooks port: a stack's on_apply ECS redeployment and webhook.
type Hooks struct {
	opts HooksOptions
	ecs  *ecs.Client
	log  *slog.Logger
}

var _ reconciler.Hooks = (*Hooks)(nil)

// NewHooks returns Hooks. Nothing is called yet.
func NewHooks(opts HooksOptions) (*Hooks, error) {
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: webhookTimeout}
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	client := newClient(ecs.NewFromConfig, opts.AWSConfig, opts.ECSEndpoint, nil,
		func(o *ecs.Options) (**string, *awssdk.Retryer) { return &o.BaseEndpoint, &o.Retryer })
	return &Hooks{opts: opts, ecs: client, log: orDiscard(opts.Logger)}, nil
}

// AfterApply runs stack.OnApply: an ECS forced new deployment under the stack's apply role, and a
// webhook POST of {"stack","commit","summary"} to the URL in the named environment variable (10 s
// timeout; a status outside 2xx fails). Both run when both are set; the errors are joined. Errors
// never contain the webhook URL.
func (h *Hooks) AfterApply(ctx context.Context, stack reconciler.Stack, rev reconciler.Revision, summary string) error {
	var errs []error
	if d := stack.OnApply.ECSRedeploy; d != nil {
		if err := h.redeploy(ctx, stack, rev, *d); err != nil {
			errs = append(errs, fmt.Errorf("ecs redeploy %s/%s: %w", d.Cluster, d.Service, err))
		} else {
			h.log.Info("on_apply: ECS service redeploying", "stack", stack.Name, "rev", rev.Short(),
				"cluster", d.Cluster, "service", d.Service)
		}
	}
	if w := stack.OnApply.Webhook; w != nil {
		if err := h.webhook(ctx, stack, rev, summary, *w); err != nil {
			errs = append(errs, fmt.Errorf("webhook $%s: %w", w.URLEnv, err))
		} else {
			h.log.Info("on_apply: webhook sent", "stack", stack.Name, "rev", rev.Short(), "url_env", w.URLEnv)
		}
	}
	return errors.Join(errs...)
}

func (h *Hooks) redeploy(ctx context.Context, stack reconciler.Stack, rev reconciler.Revision, d reconciler.ECSRedeploy) error {
	if d.Cluster == "" || d.Service == "" {
		return errors.New("cluster and service are required")
	}
	var optFns []func(*ecs.Options)
	if h.opts.Credentials != nil {
		env, err := h.opts.Credentials.Env(ctx, reconciler.CredentialRequest{
			Stack: stack, Revision: rev, Purpose: reconciler.PurposeApply, Branch: h.opts.Branch,
		})
		if err != nil {
			return err
		}
		optFns = append(optFns, func(o *ecs.Options) {
			if env[EnvAccessKeyID] != "" {
				o.Credentials = credentials.NewStaticCredentialsProvider(env[EnvAccessKeyID], env[EnvSecretAccessKey], env[EnvSessionToken])
			}
			if env[EnvRegion] != "" {
				o.Region = env[EnvRegion]
			}
		})
	}
	_, err := h.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{
		Cluster: awssdk.String(d.Cluster), Service: awssdk.String(d.Service), ForceNewDeployment: true,
	}, optFns...)
	return err
}

// webhookBody is what an on_apply webhook receives.
type webhookBody struct {
	Stack   string `json:"stack"`
	Commit  string `json:"commit"`
	Summary string `json:"summary"`
}

func (h *Hooks) webhook(ctx context.Context, stack reconciler.Stack, rev reconciler.Revision, summary string, w reconciler.WebhookHook) error {
	if w.URLEnv == "" {
		return errors.New("url_env is required")
	}
	raw := h.opts.Getenv(w.URLEnv)
	if raw == "" {
		return errors.New("the environment variable is not set")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("the environment variable does not hold an http(s) URL") // the parse error would quote it
	}
	body, err := json.Marshal(webhookBody{Stack: stack.Name, Commit: string(rev), Summary: summary})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, webhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, raw, bytes.NewReader(body))
	if err != nil {
		return errors.New("build request") // err would quote the URL
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "trueup")
	resp, err := h.opts.HTTPClient.Do(req)
	if err != nil {
		return redactURL(err, raw, u)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("POST returned %s", resp.Status) // not the body: it may echo the URL
	}
	return nil
}

// redactURL turns an error from http.Client.Do into one that does not contain the URL (which
// often is the secret): *url.Error quotes it, and dial errors name its host.
func redactURL(err error, raw string, u *url.URL) error {
	if ue, ok := err.(*url.Error); ok {
		err = ue.Err
	}
	msg := err.Error()
	for _, s := range []string{raw, u.Redacted(), u.Host, u.Hostname()} {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "<url>")
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		msg = "timed out after " + webhookTimeout.String()
	}
	return fmt.Errorf("POST: %s", msg)
}
