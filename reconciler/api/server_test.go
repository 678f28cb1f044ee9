package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
)

const (
	testToken = "s3cret-token"
	fullSHA   = "0123456789abcdef0123456789abcdef01234567"
)

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newServer(t *testing.T, b Backend, mod ...func(*Options)) *Server {
	t.Helper()
	opts := Options{Backend: b, Token: testToken, PollInterval: 30 * time.Second, Now: func() time.Time { return testNow }}
	for _, m := range mod {
		m(&opts)
	}
	s, err := New(opts)
	require.NoError(t, err)
	return s
}

type response struct {
	code   int
	header http.Header
	raw    string
	json   map[string]any
}

// serve runs one request through the handler; header is name, value pairs.
func serve(t *testing.T, s *Server, method, path, body string, header ...string) response {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	res := response{code: rec.Code, header: rec.Header(), raw: rec.Body.String()}
	if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &res.json), "body: %s", res.raw)
	}
	return res
}

// serveAPI is serve for the API's own routes, whose every answer must be JSON.
func serveAPI(t *testing.T, s *Server, method, path, body string, header ...string) response {
	t.Helper()
	res := serve(t, s, method, path, body, header...)
	require.Equal(t, "application/json", res.header.Get("Content-Type"), "%s %s: %s", method, path, res.raw)
	return res
}

func bearer(token string) []string { return []string{"Authorization", "Bearer " + token} }

func TestNewRequiresBackendAndPollInterval(t *testing.T) {
	_, err := New(Options{PollInterval: time.Second})
	require.ErrorContains(t, err, "no backend")
	_, err = New(Options{Backend: &fakeBackend{}})
	require.ErrorContains(t, err, "poll interval")
}

func TestHealthz(t *testing.T) {
	s := newServer(t, &fakeBackend{StoreOKFunc: func(context.Context) error { return errors.New("store down") }})
	res := serveAPI(t, s, http.MethodGet, "/healthz", "")
	assert.Equal(t, http.StatusOK, res.code)
	assert.Equal(t, map[string]any{"status": "ok"}, res.json)
}

func TestReadyz(t *testing.T) {
	pollErr := errors.New("ls-remote: connection refused")
	tests := []struct {
		name       string
		storeErr   error
		health     reconciler.Health
		wantCode   int
		wantReason string
	}{
		{name: "recent poll", health: reconciler.Health{LastPoll: testNow.Add(-10 * time.Second)}, wantCode: 200},
		{name: "recent poll, latest poll failed", health: reconciler.Health{LastPoll: testNow.Add(-45 * time.Second), PollError: pollErr}, wantCode: 200},
		{name: "exactly three intervals", health: reconciler.Health{LastPoll: testNow.Add(-90 * time.Second)}, wantCode: 200},
		{
			name: "store fails", storeErr: errors.New("bolt: database not open"),
			health: reconciler.Health{LastPoll: testNow}, wantCode: 503, wantReason: "store: not answering",
		},
		{
			name: "store and poll fail", storeErr: errors.New("bolt: database not open"), health: reconciler.Health{PollError: pollErr},
			wantCode: 503, wantReason: "store: not answering",
		},
		{name: "never polled", wantCode: 503, wantReason: "poll: no successful poll yet"},
		{name: "standby, which never polls", health: reconciler.Health{Standby: true}, wantCode: 200},
		{
			name: "standby without its store", storeErr: errors.New("dial tcp 127.0.0.1:5432: connection refused"),
			health: reconciler.Health{Standby: true}, wantCode: 503, wantReason: "store: not answering",
		},
		{
			name: "never polled, poll failing", health: reconciler.Health{PollError: pollErr},
			wantCode: 503, wantReason: "poll: no successful poll yet",
		},
		{
			name: "stale poll", health: reconciler.Health{LastPoll: testNow.Add(-2 * time.Minute), PollError: pollErr},
			wantCode: 503, wantReason: "poll: last successful poll too old",
		},
		{
			name: "stale poll without error", health: reconciler.Health{LastPoll: testNow.Add(-3 * time.Hour)},
			wantCode: 503, wantReason: "poll: last successful poll too old",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &fakeBackend{
				StoreOKFunc: func(context.Context) error { return tt.storeErr },
				HealthFunc:  func() reconciler.Health { return tt.health },
			}
			res := serveAPI(t, newServer(t, b), http.MethodGet, "/readyz", "")
			assert.Equal(t, tt.wantCode, res.code, res.raw)
			if tt.wantCode == http.StatusOK {
				assert.Equal(t, map[string]any{"status": "ready"}, res.json)
				return
			}
			assert.Equal(t, map[string]any{"status": "not ready", "reason": tt.wantReason}, res.json)
		})
	}
}

// The probe is often reachable by more than the API: it names the failed check, never an error's
// text, which may hold a URL with credentials. The log keeps the store's error for the operator.
func TestReadyzNeverShowsAnErrorText(t *testing.T) {
	const secret = "ghp_R3allySecretToken"
	leaky := fmt.Errorf("open https://x-access-token:%s@github.com/acme/infra.git: dial tcp 10.0.3.7:443: i/o timeout", secret)
	for _, h := range []reconciler.Health{{PollError: leaky}, {LastPoll: testNow.Add(-time.Hour), PollError: leaky}} {
		res := serveAPI(t, newServer(t, &fakeBackend{HealthFunc: func() reconciler.Health { return h }}), http.MethodGet, "/readyz", "")
		assert.Equal(t, http.StatusServiceUnavailable, res.code)
		assert.NotContains(t, res.raw, secret)
		assert.NotContains(t, res.raw, "10.0.3.7")
		assert.NotContains(t, res.raw, "i/o timeout")
	}

	var logs bytes.Buffer
	b := &fakeBackend{
		StoreOKFunc: func(context.Context) error { return fmt.Errorf("bolt /var/lib/trueup/trueup.db: %w", leaky) },
		HealthFunc:  func() reconciler.Health { return reconciler.Health{LastPoll: testNow} },
	}
	s := newServer(t, b, func(o *Options) { o.Logger = slog.New(slog.NewTextHandler(&logs, nil)) })
	res := serveAPI(t, s, http.MethodGet, "/readyz", "")
	assert.Equal(t, http.StatusServiceUnavailable, res.code)
	assert.Equal(t, map[string]any{"status": "not ready", "reason": "store: not answering"}, res.json)
	assert.NotContains(t, res.raw, secret)
	assert.NotContains(t, res.raw, "/var/lib/trueup")
	assert.Contains(t, logs.String(), "i/o timeout", "the log has the cause")
}

func TestReadyzFollowsTheClock(t *testing.T) {
	now := testNow
	b := &fakeBackend{HealthFunc: func() reconciler.Health { return reconciler.Health{LastPoll: testNow} }}
	s := newServer(t, b, func(o *Options) { o.Now = func() time.Time { return now } })
	assert.Equal(t, http.StatusOK, serveAPI(t, s, http.MethodGet, "/readyz", "").code)
	now = now.Add(91 * time.Second)
	assert.Equal(t, http.StatusServiceUnavailable, serveAPI(t, s, http.MethodGet, "/readyz", "").code)
}

func sampleStacks() []reconciler.StackStatus {
	return []reconciler.StackStatus{
		{Name: "network", Dir: "network", Workspace: "default", AppliedRev: fullSHA, InRepository: true},
		{
			Name: "stacks/app@prod", Dir: "stacks/app", Workspace: "prod", InRepository: true, Pending: true,
			Held: &reconciler.Hold{Revision: fullSHA, Reason: "plan differs", Since: testNow},
		},
	}
}

func TestListStacks(t *testing.T) {
	b := &fakeBackend{StacksFunc: func(context.Context) ([]reconciler.StackStatus, error) { return sampleStacks(), nil }}
	res := serveAPI(t, newServer(t, b), http.MethodGet, "/api/v1/stacks", "", bearer(testToken)...)
	require.Equal(t, http.StatusOK, res.code)
	var got struct{ Stacks []reconciler.StackStatus }
	require.NoError(t, json.Unmarshal([]byte(res.raw), &got))
	assert.Equal(t, sampleStacks(), got.Stacks)
}

func TestListStacksEmptyIsAnArray(t *testing.T) {
	res := serveAPI(t, newServer(t, &fakeBackend{}), http.MethodGet, "/api/v1/stacks", "", bearer(testToken)...)
	require.Equal(t, http.StatusOK, res.code)
	assert.Equal(t, map[string]any{"stacks": []any{}}, res.json)
}

func TestListStacksStoreError(t *testing.T) {
	b := &fakeBackend{StacksFunc: func(context.Context) ([]reconciler.StackStatus, error) {
		return nil, errors.New("read stacks: disk I/O error")
	}}
	res := serveAPI(t, newServer(t, b), http.MethodGet, "/api/v1/stacks", "", bearer(testToken)...)
	assert.Equal(t, http.StatusInternalServerError, res.code)
	assert.Equal(t, map[string]any{"error": "read stacks: disk I/O error"}, res.json)
}

func stackByName(ctx context.Context, name string) (reconciler.StackStatus, error) {
	for _, s := range sampleStacks() {
		if s.Name == name {
			return s, nil
		}
	}
	return reconciler.StackStatus{}, fmt.Errorf("stack %q: %w", name, reconciler.ErrNotFound)
}

func TestGetStack(t *testing.T) {
	s := newServer(t, &fakeBackend{StackFunc: stackByName})
	tests := []struct {
		path     string
		wantCode int
		wantName string
		wantErr  string
	}{
		{path: "/api/v1/stacks/network", wantCode: 200, wantName: "network"},
		{path: "/api/v1/stacks/stacks/app@prod", wantCode: 200, wantName: "stacks/app@prod"},
		{path: "/api/v1/stacks/stacks/app%40prod", wantCode: 200, wantName: "stacks/app@prod"},
		{path: "/api/v1/stacks/nope", wantCode: 404, wantErr: `stack "nope": not found`},
		{path: "/api/v1/stacks/", wantCode: 404, wantErr: "no stack named: GET /api/v1/stacks/STACK"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			res := serveAPI(t, s, http.MethodGet, tt.path, "", bearer(testToken)...)
			require.Equal(t, tt.wantCode, res.code, res.raw)
			if tt.wantErr != "" {
				assert.Equal(t, map[string]any{"error": tt.wantErr}, res.json)
				return
			}
			assert.Equal(t, tt.wantName, res.json["name"])
		})
	}
}

func TestReconcile(t *testing.T) {
	b := &fakeBackend{ReconcileFunc: func(ctx context.Context, name string) error {
		switch name {
		case "stacks/app@prod":
			return nil
		case "early":
			return fmt.Errorf("main's stacks are not read yet: %w", reconciler.ErrNotReady)
		}
		return fmt.Errorf("stack %q is not in the repository at main's head: %w", name, reconciler.ErrNotFound)
	}}
	s := newServer(t, b)

	res := serveAPI(t, s, http.MethodPost, "/api/v1/stacks/early/reconcile", "", bearer(testToken)...)
	assert.Equal(t, http.StatusServiceUnavailable, res.code, "a leader that has not read main yet says so, not 404")
	assert.Equal(t, "1", res.header.Get("Retry-After"))

	res = serveAPI(t, s, http.MethodPost, "/api/v1/stacks/stacks/app@prod/reconcile", "", bearer(testToken)...)
	assert.Equal(t, http.StatusAccepted, res.code, res.raw)
	assert.Equal(t, map[string]any{"status": "queued", "stack": "stacks/app@prod"}, res.json)

	res = serveAPI(t, s, http.MethodPost, "/api/v1/stacks/gone/reconcile", "", bearer(testToken)...)
	assert.Equal(t, http.StatusNotFound, res.code)
	assert.Equal(t, map[string]any{"error": `stack "gone" is not in the repository at main's head: not found`}, res.json)
	assert.Equal(t, []string{"reconcile early", "reconcile stacks/app@prod", "reconcile gone"}, b.Calls())
}

func TestApprove(t *testing.T) {
	b := &fakeBackend{ApproveFunc: func(ctx context.Context, name, rev string) (reconciler.Revision, error) {
		switch {
		case name != "stacks/app":
			return "", fmt.Errorf("stack %q: %w", name, reconciler.ErrNotFound)
		case !strings.HasPrefix(fullSHA, rev):
			return "", fmt.Errorf("%w: the held apply of %s is for 01234567, not %s", reconciler.ErrConflict, name, rev)
		}
		return fullSHA, nil
	}}
	s := newServer(t, b)
	tests := []struct {
		name     string
		stack    string
		body     string
		wantCode int
		want     map[string]any
	}{
		{
			name: "prefix", stack: "stacks/app", body: `{"revision":"0123456"}`,
			wantCode: 200, want: map[string]any{"stack": "stacks/app", "approved": fullSHA},
		},
		{
			name: "full sha", stack: "stacks/app", body: `{"revision":"` + fullSHA + `"}`,
			wantCode: 200, want: map[string]any{"stack": "stacks/app", "approved": fullSHA},
		},
		{
			name: "another revision is held", stack: "stacks/app", body: `{"revision":"abcdef0"}`,
			wantCode: 409, want: map[string]any{"error": "conflict: the held apply of stacks/app is for 01234567, not abcdef0"},
		},
		{
			name: "unknown stack", stack: "nope", body: `{"revision":"0123456"}`,
			wantCode: 404, want: map[string]any{"error": `stack "nope": not found`},
		},
		{
			name: "missing revision", stack: "stacks/app", body: `{}`,
			wantCode: 400, want: map[string]any{"error": `missing "revision": the commit sha of the held apply (at least 7 hex digits)`},
		},
		{
			name: "short revision", stack: "stacks/app", body: `{"revision":"0123"}`,
			wantCode: 400, want: map[string]any{"error": `revision "0123" is not a commit sha or a prefix of at least 7 hex digits`},
		},
		{
			name: "not hex", stack: "stacks/app", body: `{"revision":"main~1234"}`,
			wantCode: 400, want: map[string]any{"error": `revision "main~1234" is not a commit sha or a prefix of at least 7 hex digits`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := serveAPI(t, s, http.MethodPost, "/api/v1/stacks/"+tt.stack+"/approve", tt.body, bearer(testToken)...)
			assert.Equal(t, tt.wantCode, res.code, res.raw)
			assert.Equal(t, tt.want, res.json)
		})
	}
}

func TestApproveBadBodies(t *testing.T) {
	b := &fakeBackend{}
	s := newServer(t, b)
	tests := []struct {
		name, body string
		wantCode   int
		wantErr    string
	}{
		{name: "empty", body: "", wantCode: 400, wantErr: "invalid JSON body"},
		{name: "not JSON", body: "revision=0123456", wantCode: 400, wantErr: "invalid JSON body"},
		{name: "unknown field", body: `{"rev":"0123456"}`, wantCode: 400, wantErr: `unknown field "rev"`},
		{name: "wrong type", body: `{"revision":1234567}`, wantCode: 400, wantErr: "invalid JSON body"},
		{name: "too large", body: `{"revision":"` + strings.Repeat("a", maxBody) + `"}`, wantCode: 413, wantErr: "larger than 1048576 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := serveAPI(t, s, http.MethodPost, "/api/v1/stacks/app/approve", tt.body, bearer(testToken)...)
			assert.Equal(t, tt.wantCode, res.code, res.raw)
			assert.Contains(t, res.json["error"], tt.wantErr)
		})
	}
	assert.Empty(t, b.Calls(), "a bad request never reaches the backend")
}

func TestMutationsNeedTheToken(t *testing.T) {
	mutations := []struct{ path, body string }{
		{"/api/v1/stacks/app/reconcile", ""},
		{"/api/v1/stacks/app/approve", `{"revision":"0123456"}`},
	}
	tests := []struct {
		name             string
		configured       string
		header           []string
		wantCode         int
		wantErr          string
		wantAuthenticate string
	}{
		{
			name: "no token configured", configured: "", header: bearer(testToken),
			wantCode: 403, wantErr: "mutations are disabled: api.token_env is not configured on the daemon",
		},
		{
			name: "missing header", configured: testToken,
			wantCode: 401, wantErr: "missing bearer token: send Authorization: Bearer <token>", wantAuthenticate: `Bearer realm="trueup"`,
		},
		{
			name: "other scheme", configured: testToken, header: []string{"Authorization", "Basic " + testToken},
			wantCode: 401, wantErr: "missing bearer token: send Authorization: Bearer <token>", wantAuthenticate: `Bearer realm="trueup"`,
		},
		{
			name: "wrong token", configured: testToken, header: bearer("guess"),
			wantCode: 401, wantErr: "invalid bearer token", wantAuthenticate: `Bearer realm="trueup", error="invalid_token"`,
		},
		{
			name: "token with a suffix", configured: testToken, header: bearer(testToken + "x"),
			wantCode: 401, wantErr: "invalid bearer token", wantAuthenticate: `Bearer realm="trueup", error="invalid_token"`,
		},
		{name: "right token", configured: testToken, header: bearer(testToken)},
		{name: "scheme is case-insensitive", configured: testToken, header: []string{"Authorization", "bearer " + testToken}},
	}
	for _, m := range mutations {
		for _, tt := range tests {
			t.Run(m.path+"/"+tt.name, func(t *testing.T) {
				b := &fakeBackend{}
				s := newServer(t, b, func(o *Options) { o.Token = tt.configured })
				res := serveAPI(t, s, http.MethodPost, m.path, m.body, tt.header...)
				if tt.wantCode == 0 {
					assert.Less(t, res.code, 300, res.raw)
					assert.Len(t, b.Calls(), 1)
					return
				}
				assert.Equal(t, tt.wantCode, res.code)
				assert.Equal(t, map[string]any{"error": tt.wantErr}, res.json)
				assert.Equal(t, tt.wantAuthenticate, res.header.Get("WWW-Authenticate"))
				assert.Empty(t, b.Calls(), "a refused mutation never reaches the backend")
			})
		}
	}
}

func TestRoutingErrorsAreJSON(t *testing.T) {
	s := newServer(t, &fakeBackend{StackFunc: stackByName})
	tests := []struct {
		method, path string
		wantCode     int
		wantAllow    string
		wantErr      string
	}{
		{method: "GET", path: "/nope", wantCode: 404, wantErr: "no route for /nope"},
		{method: "GET", path: "/api/v2/stacks", wantCode: 404, wantErr: "no route for /api/v2/stacks"},
		{method: "POST", path: "/healthz", wantCode: 405, wantAllow: "GET, HEAD", wantErr: "method POST not allowed on /healthz; use GET or HEAD"},
		{method: "DELETE", path: "/api/v1/stacks", wantCode: 405, wantAllow: "GET, HEAD"},
		{method: "GET", path: "/webhooks/github", wantCode: 405, wantAllow: "POST"},
		{method: "DELETE", path: "/api/v1/stacks/network", wantCode: 405, wantAllow: "GET, HEAD"},
		{method: "PUT", path: "/api/v1/stacks/network/approve", wantCode: 405, wantAllow: "POST"},
		{method: "GET", path: "/api/v1/stacks/network/approve", wantCode: 405, wantAllow: "POST"},
		{method: "GET", path: "/api/v1/stacks/network/reconcile", wantCode: 405, wantAllow: "POST"},
		{
			method: "POST", path: "/api/v1/stacks/network/destroy", wantCode: 404,
			wantErr: "no action at /api/v1/stacks/network/destroy: POST /api/v1/stacks/STACK/reconcile or /api/v1/stacks/STACK/approve",
		},
		{method: "POST", path: "/api/v1/stacks/network", wantCode: 404},
		{method: "POST", path: "/api/v1/stacks/reconcile", wantCode: 404},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			res := serveAPI(t, s, tt.method, tt.path, "", bearer(testToken)...)
			assert.Equal(t, tt.wantCode, res.code, res.raw)
			assert.Equal(t, tt.wantAllow, res.header.Get("Allow"))
			require.Contains(t, res.json, "error")
			if tt.wantErr != "" {
				assert.Equal(t, tt.wantErr, res.json["error"])
			}
		})
	}
}

func TestWebhookAndMetricsAreDelegated(t *testing.T) {
	var webhookBody string
	webhook := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		webhookBody = string(b) + " " + r.Header.Get("X-GitHub-Event")
		w.WriteHeader(http.StatusNoContent)
	})
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		io.WriteString(w, "trueup_queue_depth 3\n")
	})
	s := newServer(t, &fakeBackend{}, func(o *Options) { o.Webhook, o.Metrics = webhook, metrics })

	res := serve(t, s, http.MethodPost, "/webhooks/github", `{"ref":"refs/heads/main"}`, "X-GitHub-Event", "push")
	assert.Equal(t, http.StatusNoContent, res.code)
	assert.Equal(t, `{"ref":"refs/heads/main"} push`, webhookBody)

	gitlabHook := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	s = newServer(t, &fakeBackend{}, func(o *Options) { o.GitLabWebhook = gitlabHook })
	res = serve(t, s, http.MethodPost, "/webhooks/gitlab", `{}`, "X-Gitlab-Event", "Push Hook")
	assert.Equal(t, http.StatusTeapot, res.code, "the GitLab webhook has its own route")
	s = newServer(t, &fakeBackend{}, func(o *Options) { o.Webhook, o.Metrics = webhook, metrics })

	res = serve(t, s, http.MethodGet, "/metrics", "")
	assert.Equal(t, http.StatusOK, res.code)
	assert.Equal(t, "trueup_queue_depth 3\n", res.raw)
}

func TestMissingWebhookAndMetricsAre404(t *testing.T) {
	s := newServer(t, &fakeBackend{})
	res := serveAPI(t, s, http.MethodPost, "/webhooks/github", `{}`)
	assert.Equal(t, http.StatusNotFound, res.code)
	assert.Equal(t, map[string]any{"error": "the GitHub webhook is not configured"}, res.json)
	res = serveAPI(t, s, http.MethodPost, "/webhooks/gitlab", `{}`)
	assert.Equal(t, http.StatusNotFound, res.code)
	assert.Equal(t, map[string]any{"error": "the GitLab webhook is not configured"}, res.json)
	res = serveAPI(t, s, http.MethodGet, "/metrics", "")
	assert.Equal(t, http.StatusNotFound, res.code)
	assert.Equal(t, map[string]any{"error": "metrics are not enabled"}, res.json)
}

func TestAccessLogNeverHasTheToken(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := newServer(t, &fakeBackend{}, func(o *Options) { o.Logger = log })
	serveAPI(t, s, http.MethodPost, "/api/v1/stacks/app/reconcile", "", bearer(testToken)...)
	serveAPI(t, s, http.MethodPost, "/api/v1/stacks/app/reconcile", "", bearer("wrong-"+testToken)...)
	out := buf.String()
	assert.Contains(t, out, `msg="http request" method=POST path=/api/v1/stacks/app/reconcile status=202`)
	assert.Contains(t, out, "status=401")
	assert.NotContains(t, out, testToken)
}

func TestHTTPServer(t *testing.T) {
	srv := newServer(t, &fakeBackend{}).HTTPServer("127.0.0.1:0")
	assert.Equal(t, "127.0.0.1:0", srv.Addr)
	assert.Equal(t, 10*time.Second, srv.ReadHeaderTimeout)
	assert.Equal(t, 30*time.Second, srv.ReadTimeout)
	assert.Equal(t, 60*time.Second, srv.WriteTimeout)
	assert.Equal(t, 120*time.Second, srv.IdleTimeout)
	assert.Equal(t, 1<<20, srv.MaxHeaderBytes)
	require.NotNil(t, srv.Handler)

	ts := httptest.NewServer(srv.Handler)
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/healthz")
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}
