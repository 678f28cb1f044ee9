package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"github.com/trueup/trueup/reconciler"
)

// ErrPermanent marks a message Slack refused for good (400 invalid_blocks, 403, 404 no_service):
// sending it again will not help, so a caller may drop or park it instead of retrying. It is the
// reconciler's ErrPermanent, so the outbox drops such a message instead of retrying it forever.
var ErrPermanent = reconciler.ErrPermanent

// Defaults for Options.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultMinInterval = time.Second // Slack allows about one message per second per webhook
	DefaultMaxAttempts = 4
)

// maxRetryAfter bounds how long a Retry-After header can hold posts back, against a bogus value.
const maxRetryAfter = time.Hour

// Options configures a Notifier. Exactly one of URL and URLFunc is required; the rest have defaults.
type Options struct {
	// URL is the incoming webhook URL. It is a secret: it never appears in errors or logs.
	URL string
	// URLFunc returns the webhook URL at each Notify, for a URL that is rotated (from a secrets
	// manager); it should cache. An error fails that Notify with a retryable error.
	URLFunc func(ctx context.Context) (string, error)
	// HTTPClient posts the messages; by default a client that does not follow redirects.
	HTTPClient *http.Client
	// Timeout bounds one HTTP attempt (default 10 s; negative for none).
	Timeout time.Duration
	// MinInterval is the least time between two posts, across concurrent calls (default 1 s; negative for none).
	MinInterval time.Duration
	// MaxAttempts is how many posts one Notify makes before it gives up (default 4).
	MaxAttempts int
	// Backoff is the wait after failed attempt n (1, 2, ...) before the next one, for server and
	// network errors; a 429 waits for its Retry-After instead. Default: exponential from 1 s,
	// capped at 30 s, with jitter.
	Backoff func(attempt int) time.Duration
	// Logger receives a line per retried attempt (default slog.Default()).
	Logger *slog.Logger
	// Now and Sleep replace the clock in tests. Sleep must return ctx.Err() when ctx ends first.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Notifier posts events to a Slack incoming webhook. It is safe for concurrent use; posts are
// made one at a time, at least MinInterval apart.
type Notifier struct {
	url         func(ctx context.Context) (string, error)
	client      *http.Client
	timeout     time.Duration
	minInterval time.Duration
	maxAttempts int
	backoff     func(attempt int) time.Duration
	log         *slog.Logger
	now         func() time.Time
	sleep       func(ctx context.Context, d time.Duration) error

	// gate is a one-slot semaphore held around each post; unlike a mutex, waiting for it honours ctx.
	gate chan struct{}
	// last is when the latest post started and notBefore is when Slack's Retry-After ends; both
	// are guarded by gate.
	last, notBefore time.Time
}

var _ reconciler.Notifier = (*Notifier)(nil)

// New returns a Notifier for the webhook in opts.
func New(opts Options) (*Notifier, error) {
	n := &Notifier{
		client:      opts.HTTPClient,
		timeout:     opts.Timeout,
		minInterval: opts.MinInterval,
		maxAttempts: opts.MaxAttempts,
		backoff:     opts.Backoff,
		log:         opts.Logger,
		now:         opts.Now,
		sleep:       opts.Sleep,
		gate:        make(chan struct{}, 1),
	}
	switch {
	case opts.URL != "" && opts.URLFunc != nil:
		return nil, errors.New("new slack notifier: set URL or URLFunc, not both")
	case opts.URLFunc != nil:
		n.url = opts.URLFunc
	case opts.URL != "":
		if err := checkURL(opts.URL); err != nil {
			return nil, fmt.Errorf("new slack notifier: %w", err)
		}
		u := opts.URL
		n.url = func(context.Context) (string, error) { return u, nil }
	default:
		return nil, errors.New("new slack notifier: no webhook URL")
	}
	if n.client == nil {
		n.client = &http.Client{
			// A webhook never redirects; following one would send the message somewhere else.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if n.timeout == 0 {
		n.timeout = DefaultTimeout
	}
	if n.minInterval == 0 {
		n.minInterval = DefaultMinInterval
	}
	if n.maxAttempts <= 0 {
		n.maxAttempts = DefaultMaxAttempts
	}
	if n.backoff == nil {
		n.backoff = Backoff
	}
	if n.log == nil {
		n.log = slog.Default()
	}
	if n.now == nil {
		n.now = time.Now
	}
	if n.sleep == nil {
		n.sleep = sleep
	}
	return n, nil
}

// Name is "slack".
func (n *Notifier) Name() string { return "slack" }

// Notify posts Render(e) to the webhook, retrying server errors, network errors and rate limits up
// to MaxAttempts times. An error wrapping ErrPermanent means Slack refused the message and a retry
// will not help; any other error may be retried later. It returns when ctx ends, with ctx's error.
func (n *Notifier) Notify(ctx context.Context, e reconciler.Event) error {
	body, err := Marshal(Render(e), false)
	if err != nil {
		return fmt.Errorf("render slack message: %w", err)
	}
	hook, err := n.url(ctx)
	if err != nil {
		return fmt.Errorf("get slack webhook url: %w", err)
	}
	if err := checkURL(hook); err != nil {
		return fmt.Errorf("get slack webhook url: %w", err)
	}
	for attempt := 1; ; attempt++ {
		res := n.post(ctx, hook, body)
		switch {
		case res.err == nil:
			return nil
		case ctx.Err() != nil && !errors.Is(res.err, ctx.Err()):
			// Canceled after Slack answered: the caller learns both what Slack said and that it stopped.
			return fmt.Errorf("%w (then stopped: %w)", res.err, ctx.Err())
		case errors.Is(res.err, ErrPermanent), ctx.Err() != nil:
			return res.err
		case attempt >= n.maxAttempts:
			return fmt.Errorf("%w (gave up after %d attempts)", res.err, attempt)
		}
		// A rate limit already pushed the gate back by Retry-After; the next post waits for it.
		wait := time.Duration(0)
		if !res.rateLimited {
			wait = n.backoff(attempt)
		}
		n.log.LogAttrs(ctx, slog.LevelInfo, "slack webhook post failed; retrying",
			slog.String("stack", e.Stack), slog.String("kind", string(e.Kind)),
			slog.Int("attempt", attempt), slog.Duration("wait", wait), slog.String("error", res.err.Error()))
		if wait > 0 {
			if err := n.sleep(ctx, wait); err != nil {
				return fmt.Errorf("post slack webhook: wait to retry: %w", err)
			}
		}
	}
}

// Backoff is the default Options.Backoff: 1 s, 2 s, 4 s ... capped at 30 s, each with up to half
// of it taken off at random, so that instances that failed together do not retry together.
func Backoff(attempt int) time.Duration {
	const start, limit = time.Second, 30 * time.Second
	d := limit
	if attempt >= 1 && attempt <= 5 {
		d = min(start<<(attempt-1), limit)
	}
	return d/2 + rand.N(d/2+1)
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// checkURL rejects what is not an absolute http(s) URL. Its error never quotes the URL.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return errors.New("webhook URL is not an absolute http(s) URL")
	}
	return nil
}
