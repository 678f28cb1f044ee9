package remote

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// ErrRunGone is returned when the control plane refuses the run's token: the run is over, was
// canceled or superseded, or the token is wrong. The runner must stop.
var ErrRunGone = errors.New("the control plane refused this run's token: the run is over, canceled or superseded")

// Client is a runner's side of the protocol. Every call has a deadline (CallTimeout, or
// TransferTimeout for a tree or a plan file); small calls are retried on network errors.
type Client struct {
	// URL is the control plane's base URL (TRUEUP_CONTROL_URL).
	URL   string
	RunID string
	Token string
	// HTTP is the client; nil means one that follows no redirect.
	HTTP *http.Client
	// CallTimeout bounds one call (30 s when 0); TransferTimeout one transfer (10 min when 0).
	CallTimeout, TransferTimeout time.Duration
	// Retries is how many times a small call is retried after a network error (3 when 0), with
	// RetryDelay doubling between them (1 s when 0).
	Retries    int
	RetryDelay time.Duration
	// PendingTimeout is how long Job keeps asking while the control plane answers that it has not
	// claimed the run yet (503: it restarted while the runner was starting); 2 minutes when 0.
	PendingTimeout time.Duration
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (c *Client) path(what string) string {
	return strings.TrimRight(c.URL, "/") + PathPrefix + "runs/" + c.RunID + "/" + what
}

// call makes one request with a deadline; the caller reads and closes the body before done.
func (c *Client) call(ctx context.Context, method, what string, body []byte, header http.Header, timeout time.Duration) (*http.Response, context.CancelFunc, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.path(what), rd)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	resp, err := c.httpClient().Do(req)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	if err := statusError(resp); err != nil {
		resp.Body.Close()
		cancel()
		return nil, nil, err
	}
	return resp, cancel, nil
}

// statusError turns an answer other than 2xx into an error with the control plane's message.
func statusError(resp *http.Response) error {
	if resp.StatusCode/100 == 2 {
		return nil
	}
	var e struct{ Error string }
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if json.Unmarshal(b, &e) != nil || e.Error == "" {
		e.Error = strings.TrimSpace(string(b))
	}
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusGone {
		return fmt.Errorf("%w (%s: %s)", ErrRunGone, resp.Status, e.Error)
	}
	return &httpError{status: resp.StatusCode, msg: fmt.Sprintf("%s: %s", resp.Status, e.Error)}
}

type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

// small makes a small call, retried on network errors and 5xx answers, never on a refusal.
func (c *Client) small(ctx context.Context, method, what string, body []byte, header http.Header, out any) error {
	timeout, retries, delay := c.CallTimeout, c.Retries, c.RetryDelay
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	if retries <= 0 {
		retries = 3
	}
	if delay <= 0 {
		delay = time.Second
	}
	var err error
	for attempt := 0; ; attempt++ {
		err = c.smallOnce(ctx, method, what, body, header, out, timeout)
		var he *httpError
		retry := err != nil && !errors.Is(err, ErrRunGone) && (!errors.As(err, &he) || he.status >= 500)
		if !retry || attempt >= retries || ctx.Err() != nil {
			break
		}
		select {
		case <-time.After(delay << attempt):
		case <-ctx.Done():
		}
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, what, err)
	}
	return nil
}

func (c *Client) smallOnce(ctx context.Context, method, what string, body []byte, header http.Header, out any, timeout time.Duration) error {
	resp, done, err := c.call(ctx, method, what, body, header, timeout)
	if err != nil {
		return err
	}
	defer done()
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil
	}
	return json.NewDecoder(io.LimitReader(resp.Body, maxJobBody)).Decode(out)
}

func (c *Client) transferTimeout() time.Duration {
	if c.TransferTimeout > 0 {
		return c.TransferTimeout
	}
	return transferTimeout
}

// Job fetches the run's job. While the control plane says it has not claimed the run yet (it
// restarted), Job asks again every few seconds, for at most PendingTimeout.
func (c *Client) Job(ctx context.Context) (Job, error) {
	wait := c.PendingTimeout
	if wait <= 0 {
		wait = lostAfter
	}
	pause := 5 * c.retryDelay()
	deadline := time.Now().Add(wait)
	for {
		var j Job
		err := c.small(ctx, http.MethodGet, "job", nil, nil, &j)
		var he *httpError
		if !errors.As(err, &he) || he.status != http.StatusServiceUnavailable || time.Now().Add(pause).After(deadline) {
			return j, err
		}
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return j, err
		}
	}
}

func (c *Client) retryDelay() time.Duration {
	if c.RetryDelay <= 0 {
		return time.Second
	}
	return c.RetryDelay
}

// Tree fetches the revision's files and unpacks them into dir (see extractTree).
func (c *Client) Tree(ctx context.Context, dir string) error {
	resp, done, err := c.call(ctx, http.MethodGet, "tree", nil, nil, c.transferTimeout())
	if err != nil {
		return fmt.Errorf("GET tree: %w", err)
	}
	defer done()
	defer resp.Body.Close()
	return extractTree(resp.Body, dir)
}

// PlanFile fetches an apply's plan file and checks that its SHA-256 is want.
func (c *Client) PlanFile(ctx context.Context, want string) ([]byte, error) {
	resp, done, err := c.call(ctx, http.MethodGet, "plan-file", nil, nil, c.transferTimeout())
	if err != nil {
		return nil, fmt.Errorf("GET plan-file: %w", err)
	}
	defer done()
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxPlanFile+1))
	if err != nil {
		return nil, fmt.Errorf("GET plan-file: %w", err)
	}
	if len(data) > MaxPlanFile {
		return nil, fmt.Errorf("GET plan-file: larger than %d bytes", MaxPlanFile)
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); want == "" || got != want {
		return nil, fmt.Errorf("GET plan-file: its SHA-256 is %s, the vetted plan's is %q: refusing to apply it", got, want)
	}
	return data, nil
}

// PutPlanFile uploads a plan's plan file with its SHA-256.
func (c *Client) PutPlanFile(ctx context.Context, data []byte) (string, error) {
	sum := sha256.Sum256(data)
	hexSum := hex.EncodeToString(sum[:])
	resp, done, err := c.call(ctx, http.MethodPut, "plan-file", data, http.Header{SHA256Header: {hexSum}, "Content-Type": {"application/octet-stream"}}, c.transferTimeout())
	if err != nil {
		return "", fmt.Errorf("PUT plan-file: %w", err)
	}
	defer done()
	resp.Body.Close()
	return hexSum, nil
}

// Heartbeat says the runner is alive.
func (c *Client) Heartbeat(ctx context.Context) error {
	return c.small(ctx, http.MethodPost, "heartbeat", nil, nil, nil)
}

// Log sends log lines (also a heartbeat).
func (c *Client) Log(ctx context.Context, lines []byte) error {
	return c.small(ctx, http.MethodPost, "log", lines, http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, nil)
}

// Result reports the run's result; the run ends with it.
func (c *Client) Result(ctx context.Context, res Result) error {
	body, err := json.Marshal(res)
	if err != nil {
		return err
	}
	err = c.small(ctx, http.MethodPost, "result", body, http.Header{"Content-Type": {"application/json"}}, nil)
	var he *httpError
	if errors.As(err, &he) && he.status == http.StatusConflict {
		return nil // a retry of a result that was taken, its answer lost
	}
	return err
}
