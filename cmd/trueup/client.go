package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// The daemon the API commands talk to by default, and where they find the token.
const (
	defaultAddr     = "http://127.0.0.1:8080"
	addrEnv         = "TRUEUP_ADDR"
	defaultTokenEnv = "TRUEUP_API_TOKEN"
)

// maxResponse caps what the client reads of one answer.
const maxResponse = 32 << 20

// clientFlags are the flags every command that talks to a running daemon shares.
type clientFlags struct {
	addr     string
	tokenEnv string
	timeout  time.Duration
}

func (f *clientFlags) register(fs *flag.FlagSet) {
	addr := os.Getenv(addrEnv)
	if addr == "" {
		addr = defaultAddr
	}
	fs.StringVar(&f.addr, "addr", addr, "URL of the running trueup daemon; $"+addrEnv+" sets the default")
	fs.StringVar(&f.tokenEnv, "token-env", defaultTokenEnv, "environment variable that holds the API token (sent with every request when set; a daemon with a token needs it for reads too)")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "how long to wait for the daemon")
}

// client returns an API client for the flags. The token is read from the environment, never from
// a flag, so it stays out of shell history and process listings.
func (f *clientFlags) client() (*apiClient, error) {
	addr := strings.TrimSpace(f.addr)
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--addr %q: want a URL like %s", f.addr, defaultAddr)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	return &apiClient{
		base:     u.String(),
		token:    os.Getenv(f.tokenEnv),
		tokenEnv: f.tokenEnv,
		// A redirect is not followed: net/http would send the token along to another port of the
		// same host. The daemon redirects only paths that are not clean, which no stack name makes.
		http: &http.Client{
			Timeout:       f.timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}, nil
}

// apiClient calls the daemon's JSON API.
type apiClient struct {
	base     string
	token    string
	tokenEnv string
	http     *http.Client
}

// apiError is an error answer of the daemon: its status and the message of its JSON body.
type apiError struct {
	Status  int
	Message string
}

func (e *apiError) Error() string { return e.Message }

// stackPath is the API path of a stack, whose name may contain slashes, plus an optional action.
func stackPath(name, action string) string {
	segs := strings.Split(name, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	p := "/api/v1/stacks/" + strings.Join(segs, "/")
	if action != "" {
		p += "/" + action
	}
	return p
}

// get reads path and returns the raw JSON body. Like every request, it carries the bearer token when
// one is set.
func (c *apiClient) get(ctx context.Context, path string) ([]byte, error) {
	return c.do(ctx, http.MethodGet, path, nil)
}

// post sends in as JSON to path and decodes the answer into out.
func (c *apiClient) post(ctx context.Context, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
	}
	raw, err := c.do(ctx, http.MethodPost, path, body)
	if err != nil {
		return err
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("decode answer of trueup at %s: %w", c.base, err)
		}
	}
	return nil
}

func (c *apiClient) do(ctx context.Context, method, path string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("request %s: %w", path, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	// A daemon with a token needs it for reads too; one without ignores it on reads.
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("cannot reach trueup at %s: is it running? (%w)", c.base, unwrapURLError(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, fmt.Errorf("read answer of trueup at %s: %w", c.base, err)
	}
	if resp.StatusCode >= 300 {
		err := c.errorOf(resp.StatusCode, raw)
		if loc := resp.Header.Get("Location"); loc != "" && resp.StatusCode < 400 {
			err.Message += fmt.Sprintf(" (it redirects to %s; trueup does not follow redirects: give the daemon's own address)", truncate(printable(loc, false), 200))
		}
		return nil, err
	}
	return raw, nil
}

// errorOf turns an error answer into an apiError with the server's message and, for a refused
// token, a hint about where the token comes from.
func (c *apiClient) errorOf(status int, raw []byte) *apiError {
	var body struct {
		Error string `json:"error"`
	}
	msg := ""
	if json.Unmarshal(raw, &body) == nil && body.Error != "" {
		msg = printable(body.Error, false) // it may quote a stack name or a path
	} else {
		msg = fmt.Sprintf("%d %s from %s", status, http.StatusText(status), c.base)
		if first, _, _ := strings.Cut(strings.TrimSpace(string(raw)), "\n"); first != "" {
			msg += ": " + truncate(printable(first, false), 200)
		}
	}
	if status == http.StatusUnauthorized {
		if c.token == "" {
			msg += fmt.Sprintf(" (set $%s to the daemon's API token)", c.tokenEnv)
		} else {
			msg += fmt.Sprintf(" (check $%s)", c.tokenEnv)
		}
	}
	return &apiError{Status: status, Message: msg}
}

// unwrapURLError drops the *url.Error wrapper, which repeats the method and URL already in the message.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// parseArgs parses flags placed anywhere among the positional arguments ("approve STACK SHA --addr URL")
// and returns the positional ones. Everything after "--" is positional.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// truncate shortens s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
