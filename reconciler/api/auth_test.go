package api

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
)

// readCounting is a backend whose every read counts, to prove a refused read never reaches it.
func readCounting(reads *atomic.Int32) *fakeBackend {
	return &fakeBackend{
		StacksFunc: func(context.Context) ([]reconciler.StackStatus, error) {
			reads.Add(1)
			return sampleStacks(), nil
		},
		StackFunc: func(ctx context.Context, name string) (reconciler.StackStatus, error) {
			reads.Add(1)
			return stackByName(ctx, name)
		},
		PullPlansFunc: func(ctx context.Context, number int) ([]reconciler.BranchPlan, error) {
			reads.Add(1)
			return samplePlans(), nil
		},
	}
}

var readPaths = []string{"/api/v1/stacks", "/api/v1/stacks/network", "/api/v1/stacks/stacks/app@prod", "/api/v1/pulls/12"}

func TestReadsNeedTheTokenWhenOneIsConfigured(t *testing.T) {
	tests := []struct {
		name             string
		method           string
		header           []string
		wantCode         int
		wantErr          string
		wantAuthenticate string
	}{
		{
			name: "no header", method: http.MethodGet,
			wantCode: 401, wantErr: "missing bearer token: send Authorization: Bearer <token>", wantAuthenticate: `Bearer realm="trueup"`,
		},
		{
			name: "HEAD without a header", method: http.MethodHead,
			wantCode: 401, wantAuthenticate: `Bearer realm="trueup"`,
		},
		{
			name: "the token as basic auth", method: http.MethodGet, header: []string{"Authorization", "Basic " + testToken},
			wantCode: 401, wantErr: "missing bearer token: send Authorization: Bearer <token>", wantAuthenticate: `Bearer realm="trueup"`,
		},
		{
			name: "bare token", method: http.MethodGet, header: []string{"Authorization", testToken},
			wantCode: 401, wantErr: "missing bearer token: send Authorization: Bearer <token>", wantAuthenticate: `Bearer realm="trueup"`,
		},
		{
			name: "empty bearer", method: http.MethodGet, header: []string{"Authorization", "Bearer  "},
			wantCode: 401, wantErr: "missing bearer token: send Authorization: Bearer <token>", wantAuthenticate: `Bearer realm="trueup"`,
		},
		{
			name: "wrong token", method: http.MethodGet, header: bearer("guess"),
			wantCode: 401, wantErr: "invalid bearer token", wantAuthenticate: `Bearer realm="trueup", error="invalid_token"`,
		},
		{
			name: "prefix of the token", method: http.MethodGet, header: bearer(testToken[:len(testToken)-1]),
			wantCode: 401, wantErr: "invalid bearer token", wantAuthenticate: `Bearer realm="trueup", error="invalid_token"`,
		},
		{
			name: "token in another header", method: http.MethodGet, header: []string{"X-Api-Token", testToken},
			wantCode: 401, wantErr: "missing bearer token: send Authorization: Bearer <token>", wantAuthenticate: `Bearer realm="trueup"`,
		},
		{name: "right token", method: http.MethodGet, header: bearer(testToken), wantCode: 200},
		{name: "HEAD with the right token", method: http.MethodHead, header: bearer(testToken), wantCode: 200},
	}
	for _, path := range readPaths {
		for _, tt := range tests {
			t.Run(path+"/"+tt.name, func(t *testing.T) {
				var reads atomic.Int32
				s := newServer(t, readCounting(&reads))
				res := serve(t, s, tt.method, path, "", tt.header...)
				require.Equal(t, tt.wantCode, res.code, res.raw)
				assert.Equal(t, tt.wantAuthenticate, res.header.Get("WWW-Authenticate"))
				if tt.wantCode == http.StatusOK {
					assert.EqualValues(t, 1, reads.Load())
					return
				}
				assert.Zero(t, reads.Load(), "a refused read never reaches the backend")
				if tt.method == http.MethodGet {
					assert.Equal(t, map[string]any{"error": tt.wantErr}, res.json)
				}
			})
		}
	}
}

// Without the token, nobody learns whether a stack or pull request exists, nor which methods a
// path takes, and the token in the query string is no token.
func TestRefusedReadsLeakNothing(t *testing.T) {
	var reads atomic.Int32
	s := newServer(t, readCounting(&reads))
	for _, tt := range []struct{ method, path string }{
		{http.MethodGet, "/api/v1/stacks/nope"},
		{http.MethodGet, "/api/v1/stacks/network"},
		{http.MethodGet, "/api/v1/pulls/99999"},
		{http.MethodGet, "/api/v1/pulls/abc"},
		{http.MethodGet, "/api/v1/stacks?token=" + testToken},
		{http.MethodGet, "/api/v1/stacks?access_token=" + testToken},
		{http.MethodGet, "/api/v1/stacks/network/approve"},
		{http.MethodDelete, "/api/v1/stacks"},
		{http.MethodPost, "/api/v1/pulls/12"},
		{http.MethodPost, "/api/v1/stacks/network/destroy"},
	} {
		res := serveAPI(t, s, tt.method, tt.path, "")
		assert.Equal(t, http.StatusUnauthorized, res.code, "%s %s: %s", tt.method, tt.path, res.raw)
		assert.Empty(t, res.header.Get("Allow"), "%s %s", tt.method, tt.path)
	}
	assert.Zero(t, reads.Load())
}

// Paths the ServeMux cleans are redirected to the clean path, which is guarded; none of them is a
// way around the token.
func TestUncleanPathsDoNotBypassTheToken(t *testing.T) {
	var reads atomic.Int32
	s := newServer(t, readCounting(&reads))
	for _, path := range []string{
		"/api/v1//stacks", "/api//v1/stacks", "/api/v1/./stacks", "/api/v1/x/../stacks", "/healthz/../api/v1/stacks",
		"/api/v1/pulls/12/", "/api/v1/pulls//12", "/API/v1/stacks", "/api/v1/stacks%2Fnetwork", "/api/v1/pulls/%31%32",
	} {
		res := serve(t, s, http.MethodGet, path, "")
		assert.NotEqual(t, http.StatusOK, res.code, "%s: %s", path, res.raw)
		assert.NotContains(t, res.raw, "applied_revision", path)
	}
	assert.Zero(t, reads.Load(), "no unauthenticated read reached the backend")
}

func TestReadsAreOpenWithoutAConfiguredToken(t *testing.T) {
	var reads atomic.Int32
	s := newServer(t, readCounting(&reads), func(o *Options) { o.Token = "" })
	for _, path := range readPaths {
		res := serveAPI(t, s, http.MethodGet, path, "")
		assert.Equal(t, http.StatusOK, res.code, "%s: %s", path, res.raw)
		// A stray header changes nothing when no token is configured.
		res = serveAPI(t, s, http.MethodGet, path, "", bearer("anything")...)
		assert.Equal(t, http.StatusOK, res.code, "%s: %s", path, res.raw)
	}
	assert.EqualValues(t, 2*len(readPaths), reads.Load())
	// Mutations stay refused.
	res := serveAPI(t, s, http.MethodPost, "/api/v1/stacks/network/reconcile", "", bearer("anything")...)
	assert.Equal(t, http.StatusForbidden, res.code)
}

// Probes and metrics are for the orchestrator and Prometheus, which have no token.
func TestProbesAndMetricsNeedNoToken(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	b := &fakeBackend{HealthFunc: func() reconciler.Health { return reconciler.Health{LastPoll: testNow} }}
	s := newServer(t, b, func(o *Options) { o.Metrics = metrics })
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		assert.Equal(t, http.StatusOK, serve(t, s, http.MethodGet, path, "").code, path)
	}
}
