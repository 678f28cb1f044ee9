package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
)

// Secrets as a redactor knows them: JSON escapes each of them differently (a PEM key's newlines, a
// quote and a backslash, HTML characters, a line separator), so only a redaction of the decoded
// strings finds them all.
var (
	secretToken = "ghp_R3allySecretToken"
	secretPEM   = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7x\n-----END RSA PRIVATE KEY-----"
	secretQuote = `pa"ss\word`
	secretHTML  = "p<a>ss&word"
	secretLS    = "sep\u2028arated"
	secrets     = []string{secretToken, secretPEM, secretQuote, secretHTML, secretLS}
)

func redactSecrets(s string) string {
	for _, secret := range secrets {
		s = strings.ReplaceAll(s, secret, "***")
	}
	return s
}

// assertNoSecret checks raw, a JSON answer, for every secret, as it stands and in every form JSON
// may have given it.
func assertNoSecret(t *testing.T, raw string) {
	t.Helper()
	var decoded any
	require.NoError(t, json.Unmarshal([]byte(raw), &decoded), "the redacted answer is still JSON: %s", raw)
	for _, secret := range secrets {
		escaped, _ := json.Marshal(secret)
		assert.NotContains(t, raw, secret)
		assert.NotContains(t, raw, strings.Trim(string(escaped), `"`))
		walkStrings(decoded, func(s string) { assert.NotContains(t, s, secret) })
	}
	// One part of a secret is not the secret, but the PEM's body would be the key.
	assert.NotContains(t, raw, "MIIEowIBAAKCAQEA7x")
}

func walkStrings(v any, f func(string)) {
	switch v := v.(type) {
	case string:
		f(v)
	case []any:
		for _, e := range v {
			walkStrings(e, f)
		}
	case map[string]any:
		for k, e := range v {
			f(k)
			walkStrings(e, f)
		}
	}
}

func withRedact(o *Options) { o.Redact = redactSecrets }

func TestRedactStackErrors(t *testing.T) {
	b := &fakeBackend{StacksFunc: func(context.Context) ([]reconciler.StackStatus, error) {
		var out []reconciler.StackStatus
		for i, secret := range secrets {
			out = append(out, reconciler.StackStatus{
				Name: fmt.Sprintf("stack%d", i), InRepository: true,
				LastRun: &reconciler.RunRecord{Kind: reconciler.RunApply, Result: reconciler.ResultFailed,
					Error: "apply: Error: authenticating with " + secret + ": 403 Forbidden"},
			})
		}
		return out, nil
	}}
	res := serveAPI(t, newServer(t, b, withRedact), http.MethodGet, "/api/v1/stacks", "", bearer(testToken)...)
	require.Equal(t, http.StatusOK, res.code, res.raw)
	assertNoSecret(t, res.raw)
	assert.Equal(t, len(secrets), strings.Count(res.raw, "apply: Error: authenticating with ***: 403 Forbidden"), res.raw)
	// Only the strings changed: the order of the fields and the indentation stay.
	assert.True(t, strings.HasPrefix(res.raw, "{\n  \"stacks\": [\n    {\n      \"name\": \"stack0\","), res.raw)
}

func TestRedactErrorAnswers(t *testing.T) {
	leak := errors.New("read state: https://" + secretToken + "@example.com: " + secretPEM)
	b := &fakeBackend{
		StacksFunc:    func(context.Context) ([]reconciler.StackStatus, error) { return nil, leak },
		StackFunc:     func(context.Context, string) (reconciler.StackStatus, error) { return reconciler.StackStatus{}, leak },
		PullPlansFunc: func(context.Context, int) ([]reconciler.BranchPlan, error) { return nil, leak },
		ReconcileFunc: func(context.Context, string) error { return fmt.Errorf("%w: %w", reconciler.ErrNotFound, leak) },
		ApproveFunc: func(context.Context, string, string) (reconciler.Revision, error) {
			return "", fmt.Errorf("%w: %w", reconciler.ErrConflict, leak)
		},
	}
	s := newServer(t, b, withRedact)
	for _, tt := range []struct {
		method, path, body string
		wantCode           int
	}{
		{"GET", "/api/v1/stacks", "", 500},
		{"GET", "/api/v1/stacks/network", "", 500},
		{"GET", "/api/v1/pulls/12", "", 500},
		{"POST", "/api/v1/stacks/network/reconcile", "", 404},
		{"POST", "/api/v1/stacks/network/approve", `{"revision":"0123456"}`, 409},
	} {
		res := serveAPI(t, s, tt.method, tt.path, tt.body, bearer(testToken)...)
		assert.Equal(t, tt.wantCode, res.code, res.raw)
		assertNoSecret(t, res.raw)
		assert.Contains(t, res.json["error"], "read state: https://***@example.com: ***", res.raw)
	}
}

// What a request echoes is redacted too: a secret pasted into a path comes back as "***".
func TestRedactEchoedInput(t *testing.T) {
	s := newServer(t, &fakeBackend{}, withRedact)
	res := serveAPI(t, s, http.MethodGet, "/nope/"+secretToken, "")
	assert.Equal(t, http.StatusNotFound, res.code)
	assert.Equal(t, map[string]any{"error": "no route for /nope/***"}, res.json)
	res = serveAPI(t, s, http.MethodPost, "/api/v1/stacks/network/approve", `{"revision":"`+secretToken+`"}`, bearer(testToken)...)
	assert.Equal(t, http.StatusBadRequest, res.code)
	assertNoSecret(t, res.raw)
}

func TestRedactPullPlans(t *testing.T) {
	b := &fakeBackend{PullPlansFunc: func(context.Context, int) ([]reconciler.BranchPlan, error) {
		return []reconciler.BranchPlan{{
			Stack: "network", Result: reconciler.ResultSucceeded,
			Rendered: "  + resource \"local_file\" \"key\" {\n      + content = <<-EOT\n" + secretPEM + "\n        EOT\n    }\n",
			Notice:   secretHTML, HeldReason: secretQuote, Error: secretLS,
		}}, nil
	}}
	res := serveAPI(t, newServer(t, b, withRedact), http.MethodGet, "/api/v1/pulls/1", "", bearer(testToken)...)
	require.Equal(t, http.StatusOK, res.code)
	assertNoSecret(t, res.raw)
	var got pullBody
	require.NoError(t, json.Unmarshal([]byte(res.raw), &got))
	require.Len(t, got.Plans, 1)
	assert.Equal(t, "  + resource \"local_file\" \"key\" {\n      + content = <<-EOT\n***\n        EOT\n    }\n", got.Plans[0].Rendered)
	assert.Equal(t, "***", got.Plans[0].Notice)
	assert.Equal(t, "***", got.Plans[0].HeldReason)
	assert.Equal(t, "***", got.Plans[0].Error)
}

func TestNoRedactSendsTheAnswerAsItIs(t *testing.T) {
	b := &fakeBackend{StacksFunc: func(context.Context) ([]reconciler.StackStatus, error) {
		return []reconciler.StackStatus{{Name: "a", LastRun: &reconciler.RunRecord{Error: secretPEM + secretHTML}}}, nil
	}}
	res := serveAPI(t, newServer(t, b), http.MethodGet, "/api/v1/stacks", "", bearer(testToken)...)
	var got struct{ Stacks []reconciler.StackStatus }
	require.NoError(t, json.Unmarshal([]byte(res.raw), &got))
	assert.Equal(t, secretPEM+secretHTML, got.Stacks[0].LastRun.Error)
}

func TestRedactJSON(t *testing.T) {
	stars := func(s string) string { return strings.ReplaceAll(s, "secret", "***") }
	tests := []struct{ name, in, want string }{
		{"nothing to redact", `{"a": "b", "n": 1, "t": true, "z": null}`, `{"a": "b", "n": 1, "t": true, "z": null}`},
		{"value", `{"a": "my secret here"}`, `{"a": "my *** here"}`},
		{"key", `{"secret": 1}`, `{"***": 1}`},
		{"escaped quote before", `{"a": "x\"secret"}`, `{"a": "x\"***"}`},
		{"escaped backslash before the closing quote", `{"a": "x\\", "b": "secret"}`, `{"a": "x\\", "b": "***"}`},
		{"escaped letters", `{"a": "\u0073ecret"}`, `{"a": "***"}`},
		{"split by an escape", `{"a": "sec\nret"}`, `{"a": "sec\nret"}`},
		{"array", `["secret", "ok", "secretsecret"]`, `["***", "ok", "******"]`},
		{"empty", `{"": ""}`, `{"": ""}`},
		{"unicode", `{"a": "é secret ✓"}`, `{"a": "é *** ✓"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, string(redactJSON([]byte(tt.in), stars)))
		})
	}
	assert.Equal(t, `{"a": "secret"}`, string(redactJSON([]byte(`{"a": "secret"}`), nil)))
}
