package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	slackgo "github.com/slack-go/slack"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
)

// secretPath is the secret part of the test webhook URL; it must never show in an error or log.
const secretPath = "/services/T0SECRET/B0SECRET/xoxTOPSECRETtoken1234567890"

var testEvent = reconciler.Event{
	Kind: reconciler.EventDriftDetected, Stack: "network", Revision: rev, Time: when,
	Summary: "network drifted",
	Drift:   []reconciler.ResourceDrift{{Address: "aws_vpc.main", Change: "updated"}},
}

// fakeClock is a clock that only moves when Sleep is called (or the test moves it), recording every sleep.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return nil
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sleeps)
}

// hook is a fake Slack webhook: each request gets the next response in the script (the last one repeats).
type hook struct {
	t      *testing.T
	srv    *httptest.Server
	clock  *fakeClock
	mu     sync.Mutex
	script []response
	reqs   []request
}

type response struct {
	status     int
	body       string
	retryAfter string
	block      bool // hold the request until the client gives up
}

type request struct {
	at  time.Time // the fake clock's time when the request arrived
	msg slackgo.WebhookMessage
}

func newHook(t *testing.T, clock *fakeClock, script ...response) *hook {
	h := &hook{t: t, clock: clock, script: script}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+secretPath, h.serve)
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) URL() string { return h.srv.URL + secretPath }

func (h *hook) serve(w http.ResponseWriter, r *http.Request) {
	var msg slackgo.WebhookMessage
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &msg); err != nil || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	i := min(len(h.reqs), len(h.script)-1)
	at := time.Time{}
	if h.clock != nil {
		at = h.clock.Now()
	}
	h.reqs = append(h.reqs, request{at: at, msg: msg})
	resp := h.script[i]
	h.mu.Unlock()
	if resp.block {
		<-r.Context().Done()
		return
	}
	if resp.retryAfter != "" {
		w.Header().Set("Retry-After", resp.retryAfter)
	}
	w.WriteHeader(resp.status)
	_, _ = io.WriteString(w, resp.body)
}

func (h *hook) Requests() []request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.reqs)
}

var ok = response{status: http.StatusOK, body: "ok"}

// newNotifier returns a Notifier on clock with fixed 7 s backoff, no MinInterval unless set, and
// its log written to logs.
func newNotifier(t *testing.T, url string, clock *fakeClock, logs *bytes.Buffer, opts Options) *Notifier {
	t.Helper()
	opts.URL = url
	if clock != nil {
		opts.Now, opts.Sleep = clock.Now, clock.Sleep
	}
	if opts.MinInterval == 0 {
		opts.MinInterval = -1
	}
	if opts.Backoff == nil {
		opts.Backoff = func(int) time.Duration { return 7 * time.Second }
	}
	if logs == nil {
		logs = &bytes.Buffer{}
	}
	opts.Logger = slog.New(slog.NewTextHandler(logs, nil))
	n, err := New(opts)
	require.NoError(t, err)
	return n
}

func TestNotifyDelivered(t *testing.T) {
	clock := newFakeClock()
	h := newHook(t, clock, ok)
	n := newNotifier(t, h.URL(), clock, nil, Options{})

	require.NoError(t, n.Notify(context.Background(), testEvent))

	reqs := h.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, Render(testEvent).Text, reqs[0].msg.Text)
	assert.Len(t, reqs[0].msg.Blocks.BlockSet, len(Render(testEvent).Blocks.BlockSet))
	assert.Empty(t, clock.Sleeps(), "the first post does not wait")
	assert.Equal(t, "slack", n.Name())
}

func TestNotifyRetriesServerErrorThenDeliversOnce(t *testing.T) {
	clock := newFakeClock()
	h := newHook(t, clock, response{status: 500, body: "internal_error"}, ok, ok)
	var logs bytes.Buffer
	n := newNotifier(t, h.URL(), clock, &logs, Options{})

	require.NoError(t, n.Notify(context.Background(), testEvent))

	assert.Len(t, h.Requests(), 2, "one failed post and one delivery, nothing after")
	assert.Equal(t, []time.Duration{7 * time.Second}, clock.Sleeps(), "the backoff was waited")
	assert.Contains(t, logs.String(), "retrying")
	assert.Contains(t, logs.String(), "500 Internal Server Error")
}

func TestNotifyGivesUpAfterMaxAttempts(t *testing.T) {
	clock := newFakeClock()
	h := newHook(t, clock, response{status: 503, body: "service_unavailable"})
	n := newNotifier(t, h.URL(), clock, nil, Options{MaxAttempts: 3})

	err := n.Notify(context.Background(), testEvent)

	require.Error(t, err)
	assert.NotErrorIs(t, err, ErrPermanent, "a server error may be retried later")
	assert.Contains(t, err.Error(), "503 Service Unavailable")
	assert.Contains(t, err.Error(), "3 attempts")
	assert.Len(t, h.Requests(), 3)
	assert.Equal(t, []time.Duration{7 * time.Second, 7 * time.Second}, clock.Sleeps(), "no wait after the last attempt")
}

func TestNotifyHonoursRetryAfter(t *testing.T) {
	clock := newFakeClock()
	h := newHook(t, clock, response{status: 429, body: "rate_limited", retryAfter: "1"}, ok)
	// The backoff is an hour, so a one second wait can only come from Retry-After.
	n := newNotifier(t, h.URL(), clock, nil, Options{Backoff: func(int) time.Duration { return time.Hour }})

	require.NoError(t, n.Notify(context.Background(), testEvent))

	reqs := h.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, []time.Duration{time.Second}, clock.Sleeps())
	assert.Equal(t, time.Second, reqs[1].at.Sub(reqs[0].at))
}

func TestNotifyRetryAfterHoldsTheNextCallBack(t *testing.T) {
	clock := newFakeClock()
	h := newHook(t, clock, response{status: 429, retryAfter: "30"}, ok)
	n := newNotifier(t, h.URL(), clock, nil, Options{MaxAttempts: 1})

	err := n.Notify(context.Background(), testEvent)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "429")
	assert.NotErrorIs(t, err, ErrPermanent)
	assert.Empty(t, clock.Sleeps(), "no wait after the last attempt")

	clock.Advance(10 * time.Second)
	require.NoError(t, n.Notify(context.Background(), testEvent))
	assert.Equal(t, []time.Duration{20 * time.Second}, clock.Sleeps(), "the next call waits out the rest of Retry-After")
}

func TestNotifyPermanentErrors(t *testing.T) {
	tests := []struct {
		status int
		body   string
	}{
		{400, "invalid_blocks"},
		{400, "invalid_payload"},
		{403, "action_prohibited"},
		{404, "no_service"},
		{410, "channel_is_archived"},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			clock := newFakeClock()
			h := newHook(t, clock, response{status: tt.status, body: tt.body}, ok)
			n := newNotifier(t, h.URL(), clock, nil, Options{})

			err := n.Notify(context.Background(), testEvent)

			require.ErrorIs(t, err, ErrPermanent)
			assert.Contains(t, err.Error(), tt.body, "Slack's reason is in the error")
			assert.Len(t, h.Requests(), 1, "no retry")
			assert.Empty(t, clock.Sleeps())
		})
	}
}

func TestNotifyTimeout(t *testing.T) {
	h := newHook(t, nil, response{block: true})
	n := newNotifier(t, h.URL(), nil, nil, Options{Timeout: 50 * time.Millisecond, MaxAttempts: 1})

	err := n.Notify(context.Background(), testEvent)

	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NotErrorIs(t, err, ErrPermanent, "a timeout may be retried later")
	assert.NotContains(t, err.Error(), secretPath)
}

func TestNotifyStopsWaitingWhenCanceled(t *testing.T) {
	tests := map[string]response{
		"during a Retry-After wait": {status: 429, retryAfter: "3600"},
		"during a backoff wait":     {status: 500},
		"during the request":        {block: true},
	}
	for name, resp := range tests {
		t.Run(name, func(t *testing.T) {
			h := newHook(t, nil, resp)
			// The real clock: waits are an hour long, so only the cancel can end them.
			n := newNotifier(t, h.URL(), nil, nil, Options{Backoff: func(int) time.Duration { return time.Hour }, Timeout: -1})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- n.Notify(ctx, testEvent) }()

			require.Eventually(t, func() bool { return len(h.Requests()) == 1 }, 10*time.Second, time.Millisecond)
			cancel()
			select {
			case err := <-done:
				require.ErrorIs(t, err, context.Canceled)
				assert.NotContains(t, err.Error(), secretPath)
			case <-time.After(10 * time.Second):
				t.Fatal("Notify kept waiting after its context was canceled")
			}
			assert.Len(t, h.Requests(), 1)
		})
	}
}

func TestNotifyNeverRevealsTheURL(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL + secretPath
	closed.Close()

	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A misbehaving proxy that quotes the request back.
		http.Error(w, "bad request to http://"+r.Host+r.URL.String(), http.StatusBadGateway)
	}))
	t.Cleanup(echo.Close)

	clock := newFakeClock()
	tests := map[string]string{
		"connection refused":         closedURL,
		"error body quoting the url": echo.URL + secretPath,
		"server error":               newHook(t, clock, response{status: 502, body: "bad gateway"}).URL(),
		"no such host":               "https://hooks.invalid" + secretPath,
	}
	for name, url := range tests {
		t.Run(name, func(t *testing.T) {
			var logs bytes.Buffer
			n := newNotifier(t, url, clock, &logs, Options{MaxAttempts: 2})

			err := n.Notify(context.Background(), testEvent)

			require.Error(t, err)
			for _, secret := range []string{"xoxTOPSECRETtoken1234567890", "T0SECRET", url} {
				assert.NotContains(t, err.Error(), secret)
				assert.NotContains(t, logs.String(), secret)
			}
			assert.Contains(t, logs.String(), "retrying", "the retry was logged, without the URL")
		})
	}
}

func TestNotifySpacesPostsByMinInterval(t *testing.T) {
	clock := newFakeClock()
	h := newHook(t, clock, ok)
	n := newNotifier(t, h.URL(), clock, nil, Options{MinInterval: time.Second})
	ctx := context.Background()

	require.NoError(t, n.Notify(ctx, testEvent))
	require.NoError(t, n.Notify(ctx, testEvent))
	clock.Advance(300 * time.Millisecond)
	require.NoError(t, n.Notify(ctx, testEvent))
	clock.Advance(5 * time.Second)
	require.NoError(t, n.Notify(ctx, testEvent))

	assert.Equal(t, []time.Duration{time.Second, 700 * time.Millisecond}, clock.Sleeps(),
		"back to back waits a full interval, 300 ms later waits the rest, 5 s later does not wait")
	assert.Len(t, h.Requests(), 4)
}

func TestNotifySpacesConcurrentPosts(t *testing.T) {
	clock := newFakeClock()
	h := newHook(t, clock, ok)
	n := newNotifier(t, h.URL(), clock, nil, Options{MinInterval: time.Second})

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() { errs <- n.Notify(context.Background(), testEvent) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}

	reqs := h.Requests()
	require.Len(t, reqs, 8)
	for i := 1; i < len(reqs); i++ {
		assert.GreaterOrEqual(t, reqs[i].at.Sub(reqs[i-1].at), time.Second, "post %d came too soon after post %d", i, i-1)
	}
}

func TestNotifyURLFunc(t *testing.T) {
	clock := newFakeClock()
	h := newHook(t, clock, ok)
	calls := 0
	n, err := New(Options{
		URLFunc: func(context.Context) (string, error) { calls++; return h.URL(), nil },
		Now:     clock.Now, Sleep: clock.Sleep,
	})
	require.NoError(t, err)
	require.NoError(t, n.Notify(context.Background(), testEvent))
	assert.Equal(t, 1, calls)
	assert.Len(t, h.Requests(), 1)

	failing, err := New(Options{URLFunc: func(context.Context) (string, error) { return "", errors.New("secrets manager unreachable") }})
	require.NoError(t, err)
	err = failing.Notify(context.Background(), testEvent)
	assert.ErrorContains(t, err, "secrets manager unreachable")
	assert.NotErrorIs(t, err, ErrPermanent)

	bad, err := New(Options{URLFunc: func(context.Context) (string, error) { return "not a url " + secretPath, nil }})
	require.NoError(t, err)
	err = bad.Notify(context.Background(), testEvent)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), secretPath)
}

func TestNewValidates(t *testing.T) {
	tests := map[string]Options{
		"no url":       {},
		"both":         {URL: "https://hooks.slack.com" + secretPath, URLFunc: func(context.Context) (string, error) { return "", nil }},
		"not absolute": {URL: secretPath},
		"bad scheme":   {URL: "ftp://hooks.slack.com" + secretPath},
		"unparsable":   {URL: "https://hooks.slack.com/%zz" + secretPath},
	}
	for name, opts := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := New(opts)
			require.Error(t, err)
			assert.NotContains(t, err.Error(), "SECRET")
		})
	}
}

func TestBackoff(t *testing.T) {
	for attempt, base := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 4: 8 * time.Second, 6: 30 * time.Second, 100: 30 * time.Second} {
		for range 50 {
			d := Backoff(attempt)
			assert.GreaterOrEqual(t, d, base/2, "attempt %d", attempt)
			assert.LessOrEqual(t, d, base, "attempt %d", attempt)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := map[string]time.Duration{
		"1":                             time.Second,
		" 30 ":                          30 * time.Second,
		"":                              time.Second,
		"soon":                          time.Second,
		"-5":                            time.Second,
		"999999":                        maxRetryAfter,
		"Thu, 01 Jan 2026 00:00:10 GMT": 10 * time.Second,
		"Wed, 31 Dec 2025 23:59:00 GMT": 0,
	}
	for h, want := range tests {
		assert.Equal(t, want, retryAfter(h, now), "Retry-After %q", h)
	}
}

func TestRedactKeepsTheCause(t *testing.T) {
	hook := "https://hooks.slack.com" + secretPath
	err := redact(errors.Join(context.DeadlineExceeded, errors.New("posting to "+hook)), hook)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NotContains(t, err.Error(), "xoxTOPSECRET")
	assert.True(t, strings.Contains(err.Error(), "[webhook URL]"))
}

// Canceled just as Slack answered: the error says what Slack said and carries the cancellation.
func TestNotifyCanceledAsSlackAnswers(t *testing.T) {
	h := newHook(t, nil, response{status: 429, retryAfter: "3600"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The cancel lands after the response arrived and before Notify looks at it.
	client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		res, err := http.DefaultTransport.RoundTrip(r)
		cancel()
		return res, err
	})}
	n := newNotifier(t, h.URL(), nil, nil, Options{Timeout: -1, HTTPClient: client})

	err := n.Notify(ctx, testEvent)

	require.ErrorIs(t, err, context.Canceled)
	assert.Contains(t, err.Error(), "429")
	assert.NotContains(t, err.Error(), secretPath)
	assert.Len(t, h.Requests(), 1)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
