package remote

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
)

// heldRun is a registered run whose runner the test plays by hand.
type heldRun struct {
	Launch
	err  chan error // Plan's or Apply's error, once it returns
	plan chan *reconciler.Plan
}

// holdRuns starts n plan runs whose runners do nothing but wait, and returns their launches.
func holdRuns(t *testing.T, r *Runner, ex *agentExecutor, n int) []heldRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var runs []heldRun
	for i := range n {
		h := heldRun{err: make(chan error, 1), plan: make(chan *reconciler.Plan, 1)}
		go func() {
			p, err := r.Plan(ctx, testSpec(t))
			h.plan <- p
			h.err <- err
		}()
		require.Eventually(t, func() bool { return len(ex.launched()) == i+1 }, 5*time.Second, 5*time.Millisecond)
		h.Launch = ex.launched()[i]
		runs = append(runs, h)
	}
	return runs
}

func idle(ctx context.Context, _ *Client) error { <-ctx.Done(); return ctx.Err() }

func call(t *testing.T, method, url, token string, body []byte, header ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	return res
}

func runURL(l Launch, what string) string { return l.URL + PathPrefix + "runs/" + l.RunID + "/" + what }

func TestRunnerRoutesRefuseWrongTokens(t *testing.T) {
	ex := &agentExecutor{behave: idle}
	r := testRunner(t, ex, func(o *Options) { o.ReportTimeout = time.Minute })
	runs := holdRuns(t, r, ex, 2)
	a, b := runs[0].Launch, runs[1].Launch

	for _, tc := range []struct {
		name, url, token string
		want             int
	}{
		{"its own token", runURL(a, "job"), a.Token, http.StatusOK},
		{"no token", runURL(a, "job"), "", http.StatusUnauthorized},
		{"a wrong token", runURL(a, "job"), a.Token + "x", http.StatusUnauthorized},
		{"another run's token", runURL(a, "job"), b.Token, http.StatusUnauthorized},
		{"another run's token on its tree", runURL(a, "tree"), b.Token, http.StatusUnauthorized},
		{"an unknown run", a.URL + PathPrefix + "runs/0000/job", a.Token, http.StatusGone},
		{"a path outside the routes", a.URL + PathPrefix + "runs/" + a.RunID + "/../../x", a.Token, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, call(t, http.MethodGet, tc.url, tc.token, nil).StatusCode)
		})
	}
}

func TestRunnerRoutesRefuseWhatARunMayNotDo(t *testing.T) {
	ex := &agentExecutor{behave: idle}
	r := testRunner(t, ex, func(o *Options) { o.ReportTimeout = time.Minute })
	l := holdRuns(t, r, ex, 1)[0].Launch
	big := bytes.Repeat([]byte("x"), maxLogBody+1)
	data := []byte("PLAN")
	sum := sha256.Sum256(data)

	for _, tc := range []struct {
		name, method, what string
		body               []byte
		header             []string
		want               int
	}{
		{"a plan run has no plan file to fetch", http.MethodGet, "plan-file", nil, nil, http.StatusNotFound},
		{"an oversized log post", http.MethodPost, "log", big, nil, http.StatusRequestEntityTooLarge},
		{"an oversized result", http.MethodPost, "result", bytes.Repeat([]byte(" "), maxResultBody+1), nil, http.StatusRequestEntityTooLarge},
		{"a result with unknown fields", http.MethodPost, "result", []byte(`{"plan":{},"x":1}`), nil, http.StatusBadRequest},
		{"an apply result for a plan run", http.MethodPost, "result", []byte(`{"apply":{"terraform_ms":1}}`), nil, http.StatusBadRequest},
		{"a plan result without its plan file", http.MethodPost, "result", []byte(`{"plan":{"sha256":"` + hex.EncodeToString(sum[:]) + `"}}`), nil, http.StatusBadRequest},
		{"a plan file whose hash is not the one sent", http.MethodPut, "plan-file", data, []string{SHA256Header, strings.Repeat("0", 64)}, http.StatusBadRequest},
		{"a plan file without its hash", http.MethodPut, "plan-file", data, nil, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, call(t, tc.method, runURL(l, tc.what), l.Token, tc.body, tc.header...).StatusCode)
		})
	}
}

func TestALateResultIsRefused(t *testing.T) {
	ex := &agentExecutor{behave: idle}
	r := testRunner(t, ex, func(o *Options) { o.ReportTimeout = time.Minute })
	h := holdRuns(t, r, ex, 1)[0]
	data := []byte("PLAN")
	sum := sha256.Sum256(data)
	hexSum := hex.EncodeToString(sum[:])
	result := []byte(`{"plan":{"sha256":"` + hexSum + `","complete":true}}`)

	require.Equal(t, http.StatusNoContent, call(t, http.MethodPut, runURL(h.Launch, "plan-file"), h.Token, data, SHA256Header, hexSum).StatusCode)
	require.Equal(t, http.StatusNoContent, call(t, http.MethodPost, runURL(h.Launch, "result"), h.Token, result).StatusCode)
	require.NoError(t, <-h.err)
	assert.Equal(t, "PLAN", readFile(t, (<-h.plan).File))
	require.Eventually(t, func() bool { return len(ex.stopped()) == 1 }, 5*time.Second, 10*time.Millisecond)
	assert.Equal(t, []string{"did not exit after its result"}, ex.stopped(), "a runner that lingers after its result is stopped")

	// The run is over: its token is dead, for a second result as for anything else.
	assert.Equal(t, http.StatusGone, call(t, http.MethodPost, runURL(h.Launch, "result"), h.Token, result).StatusCode)
	assert.Equal(t, http.StatusGone, call(t, http.MethodGet, runURL(h.Launch, "job"), h.Token, nil).StatusCode)
}

func TestAnApplyRunFetchesOnlyItsVettedPlanFile(t *testing.T) {
	ex := &agentExecutor{local: &fakeLocal{PlanFunc: writingPlan("VETTED")}}
	r := testRunner(t, ex, func(o *Options) { o.ReportTimeout = time.Minute })
	spec := testSpec(t)
	plan, err := r.Plan(context.Background(), spec)
	require.NoError(t, err)

	ex.behave = idle
	go func() { _, _ = r.Apply(t.Context(), spec, plan) }()
	require.Eventually(t, func() bool { return len(ex.launched()) == 2 }, 5*time.Second, 5*time.Millisecond)
	l := ex.launched()[1]
	c := &Client{URL: l.URL, RunID: l.RunID, Token: l.Token}
	job, err := c.Job(t.Context())
	require.NoError(t, err)
	b, err := c.PlanFile(t.Context(), job.PlanSHA256)
	require.NoError(t, err)
	assert.Equal(t, "VETTED", string(b))
	_, err = c.PlanFile(t.Context(), strings.Repeat("0", 64))
	require.Error(t, err, "the runner checks the hash of what it got")
	assert.Contains(t, err.Error(), "refusing to apply it")
	assert.Equal(t, http.StatusForbidden, call(t, http.MethodPut, runURL(l, "plan-file"), l.Token, []byte("EVIL"), SHA256Header, strings.Repeat("0", 64)).StatusCode,
		"an apply run uploads no plan file")
}
