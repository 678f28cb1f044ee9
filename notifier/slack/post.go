package slack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxResponse is how much of Slack's response body is read; it is a short word like "invalid_blocks".
const maxResponse = 1024

// result is the outcome of one post.
type result struct {
	err error
	// rateLimited is true for a 429, whose Retry-After already holds the next post back.
	rateLimited bool
}

// post makes one attempt: it waits its turn (MinInterval after the last post, and past any
// Retry-After), posts body, and classifies the response. Errors never contain hook.
func (n *Notifier) post(ctx context.Context, hook string, body []byte) result {
	select {
	case n.gate <- struct{}{}:
	case <-ctx.Done():
		return result{err: fmt.Errorf("post slack webhook: wait for turn: %w", ctx.Err())}
	}
	defer func() { <-n.gate }()

	next := n.notBefore
	if n.minInterval > 0 && !n.last.IsZero() {
		next = later(next, n.last.Add(n.minInterval))
	}
	if wait := next.Sub(n.now()); wait > 0 {
		if err := n.sleep(ctx, wait); err != nil {
			return result{err: fmt.Errorf("post slack webhook: wait for turn: %w", err)}
		}
	}
	n.last = n.now()

	if n.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, n.timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook, bytes.NewReader(body))
	if err != nil {
		return result{err: fmt.Errorf("post slack webhook: %w", redact(err, hook))}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.client.Do(req)
	if err != nil {
		return result{err: fmt.Errorf("post slack webhook: %w", redact(err, hook))}
	}
	defer func() {
		// Drain a little so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
	}()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	text := strings.TrimSpace(strings.ReplaceAll(string(raw), hook, "[webhook URL]"))

	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		// Slack answers "ok". Any 2xx means it took the message: retrying could post it twice.
		return result{}
	case code == http.StatusTooManyRequests:
		wait := retryAfter(resp.Header.Get("Retry-After"), n.now())
		n.notBefore = n.now().Add(wait)
		return result{err: fmt.Errorf("post slack webhook: %s (retry after %s)", resp.Status, wait), rateLimited: true}
	case code >= 500:
		return result{err: fmt.Errorf("post slack webhook: %s: %q", resp.Status, text)}
	default:
		// 4xx (invalid_payload, invalid_blocks, 403 action_prohibited, 404 no_service...) and
		// unexpected redirects: the same message to the same URL will fail the same way.
		return result{err: fmt.Errorf("post slack webhook: %w: %s: %q", ErrPermanent, resp.Status, text)}
	}
}

// retryAfter reads a Retry-After header (seconds, or an HTTP date), defaulting to one second.
func retryAfter(h string, now time.Time) time.Duration {
	d := time.Second
	if secs, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && secs >= 0 {
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(h); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// redact takes the webhook URL out of err. The HTTP client's *url.Error quotes the URL it posted
// to, and the URL is the secret, so the *url.Error is dropped (keeping its cause for errors.Is)
// and every spelling of the URL left in the text is replaced.
func redact(err error, hook string) error {
	cause := err
	var ue *url.Error
	if errors.As(err, &ue) {
		cause = ue.Err
	}
	msg := err.Error()
	if ue != nil {
		msg = strings.ToLower(ue.Op) + " [webhook URL]: " + cause.Error()
	}
	for _, s := range secretForms(hook) {
		msg = strings.ReplaceAll(msg, s, "[webhook URL]")
	}
	return &redactedError{msg: msg, cause: cause}
}

// secretForms is every way the URL's secret part may be spelled in an error, longest first.
func secretForms(hook string) []string {
	forms := []string{hook}
	if u, err := url.Parse(hook); err == nil {
		forms = append(forms, u.String(), u.Redacted())
		if len(u.EscapedPath()) > 1 {
			forms = append(forms, u.EscapedPath(), u.Path)
		}
		if u.RawQuery != "" {
			forms = append(forms, u.RawQuery)
		}
	}
	return forms
}

// redactedError is an error whose text was cleaned of the webhook URL. Unwrap returns the cause
// below the *url.Error, so errors.Is(err, context.DeadlineExceeded) still works.
type redactedError struct {
	msg   string
	cause error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.cause }
