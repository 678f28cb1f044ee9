package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/trueup/trueup/reconciler"
)

var httpClient = &http.Client{Timeout: 30 * time.Second}

// stacks returns every stack's status, by name.
func (d *daemon) stacks(ctx context.Context) (map[string]reconciler.StackStatus, error) {
	var body struct {
		Stacks []reconciler.StackStatus `json:"stacks"`
	}
	if err := d.getJSON(ctx, "/api/v1/stacks", &body); err != nil {
		return nil, err
	}
	out := make(map[string]reconciler.StackStatus, len(body.Stacks))
	for _, s := range body.Stacks {
		out[s.Name] = s
	}
	return out, nil
}

// stack returns one stack's status: much cheaper for the daemon than the list of every stack.
func (d *daemon) stack(ctx context.Context, name string) (reconciler.StackStatus, error) {
	var st reconciler.StackStatus
	err := d.getJSON(ctx, "/api/v1/stacks/"+escapePath(name), &st)
	return st, err
}

// reconcile asks for a drift check (or a pending apply) of stack now.
func (d *daemon) reconcile(ctx context.Context, stack string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.addr+"/api/v1/stacks/"+escapePath(stack)+"/reconcile", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+d.token)
	_, err = do(req, http.StatusAccepted)
	return err
}

// metrics returns the Prometheus exposition text.
func (d *daemon) metrics(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.addr+"/metrics", nil)
	if err != nil {
		return "", err
	}
	b, err := do(req, http.StatusOK)
	return string(b), err
}

// webhook delivers a GitHub event signed with the daemon's webhook secret, as GitHub does.
func (d *daemon) webhook(ctx context.Context, event string, payload any) error {
	body, err := json.Marshal(payload)
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, []byte(d.secret))
	mac.Write(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.addr+"/webhooks/github", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", randomHex(16))
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	_, err = do(req, http.StatusAccepted)
	return err
}

func (d *daemon) getJSON(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.addr+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+d.token)
	b, err := do(req, http.StatusOK)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

func do(req *http.Request, want int) ([]byte, error) {
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		return nil, fmt.Errorf("%s %s: %s: %s", req.Method, req.URL.Path, resp.Status, strings.TrimSpace(string(b)))
	}
	return b, nil
}

// pushEvent is the part of GitHub's push payload trueup reads.
func pushEvent(ref, before, after string) map[string]any {
	return map[string]any{
		"ref": ref, "before": before, "after": after, "deleted": false,
		"repository": map[string]any{"full_name": stubOwner + "/" + stubRepo, "name": stubRepo},
	}
}

// pullRequestEvent is the part of GitHub's pull_request payload trueup reads.
func pullRequestEvent(action string, pr stubPull) map[string]any {
	return map[string]any{
		"action": action, "number": pr.Number,
		"pull_request": pr.wire(),
		"repository":   map[string]any{"full_name": stubOwner + "/" + stubRepo, "name": stubRepo},
	}
}

// escapePath escapes a stack name for a URL path while keeping its slashes.
func escapePath(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}
