package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
)

// renderedPlan is longer than a pull request comment shows, to prove the API answers all of it.
var renderedPlan = "Terraform will perform the following actions:\n\n" +
	strings.Repeat("  # local_file.f will be created\n  + resource \"local_file\" \"f\" {\n      + content = \"x\"\n    }\n\n", 2000) +
	"Plan: 2000 to add, 0 to change, 0 to destroy.\n"

func samplePlans() []reconciler.BranchPlan {
	return []reconciler.BranchPlan{
		{
			Target: "pr-12", Stack: "network", Revision: fullSHA, Result: reconciler.ResultSucceeded, Add: 2000,
			Changes:  []reconciler.ResourceChange{{Address: "local_file.f", Action: reconciler.ActionCreate}},
			Rendered: renderedPlan, Time: testNow,
		},
		{
			Target: "pr-12", Stack: "stacks/app@prod", Revision: fullSHA, Result: reconciler.ResultFailed,
			Error: "Error: Unsupported argument", Time: testNow,
		},
	}
}

func TestPullPlans(t *testing.T) {
	var asked []int
	b := &fakeBackend{PullPlansFunc: func(ctx context.Context, number int) ([]reconciler.BranchPlan, error) {
		asked = append(asked, number)
		return samplePlans(), nil
	}}
	res := serveAPI(t, newServer(t, b), http.MethodGet, "/api/v1/pulls/12", "", bearer(testToken)...)
	require.Equal(t, http.StatusOK, res.code, res.raw)
	assert.Equal(t, []int{12}, asked)

	var got struct {
		Number int                     `json:"number"`
		Plans  []reconciler.BranchPlan `json:"plans"`
	}
	require.NoError(t, json.Unmarshal([]byte(res.raw), &got))
	assert.Equal(t, 12, got.Number)
	assert.Equal(t, samplePlans(), got.Plans)
	assert.Equal(t, renderedPlan, got.Plans[0].Rendered, "the full rendering, not a comment's excerpt")
	assert.Equal(t, []string{"number", "plans"}, slices.Sorted(maps.Keys(res.json)))
}

func TestPullPlansNotFound(t *testing.T) {
	for name, err := range map[string]error{
		"bare":    reconciler.ErrNotFound,
		"wrapped": fmt.Errorf("read plans of pr-7: %w", reconciler.ErrNotFound),
	} {
		t.Run(name, func(t *testing.T) {
			b := &fakeBackend{PullPlansFunc: func(context.Context, int) ([]reconciler.BranchPlan, error) { return nil, err }}
			res := serveAPI(t, newServer(t, b), http.MethodGet, "/api/v1/pulls/7", "", bearer(testToken)...)
			assert.Equal(t, http.StatusNotFound, res.code)
			assert.Equal(t, map[string]any{"error": "no plans recorded for pull request #7"}, res.json)
		})
	}
}

func TestPullPlansEmptyIsAnArray(t *testing.T) {
	b := &fakeBackend{PullPlansFunc: func(context.Context, int) ([]reconciler.BranchPlan, error) { return nil, nil }}
	res := serveAPI(t, newServer(t, b), http.MethodGet, "/api/v1/pulls/3", "", bearer(testToken)...)
	require.Equal(t, http.StatusOK, res.code)
	assert.Equal(t, map[string]any{"number": float64(3), "plans": []any{}}, res.json)
}

func TestPullPlansStoreError(t *testing.T) {
	b := &fakeBackend{PullPlansFunc: func(context.Context, int) ([]reconciler.BranchPlan, error) {
		return nil, errors.New("read plans: disk I/O error")
	}}
	res := serveAPI(t, newServer(t, b), http.MethodGet, "/api/v1/pulls/3", "", bearer(testToken)...)
	assert.Equal(t, http.StatusInternalServerError, res.code)
	assert.Equal(t, map[string]any{"error": "read plans: disk I/O error"}, res.json)
}

func TestPullPlansBadNumbers(t *testing.T) {
	var asked []int
	b := &fakeBackend{PullPlansFunc: func(ctx context.Context, number int) ([]reconciler.BranchPlan, error) {
		asked = append(asked, number)
		return samplePlans(), nil
	}}
	s := newServer(t, b)
	for _, n := range []string{
		"abc", "0", "-1", "+5", "007", "1e3", "12.0", "0x1f", "%201", "1%20", "١٢", // Arabic-Indic digits
		"2147483648", "9223372036854775808", "99999999999999999999",
	} {
		res := serveAPI(t, s, http.MethodGet, "/api/v1/pulls/"+n, "", bearer(testToken)...)
		assert.Equal(t, http.StatusBadRequest, res.code, "%s: %s", n, res.raw)
		assert.Equal(t, map[string]any{"error": "the pull request number must be a positive integer: GET /api/v1/pulls/NUMBER"}, res.json, n)
	}
	assert.Empty(t, asked, "a bad number never reaches the backend")

	res := serveAPI(t, s, http.MethodGet, "/api/v1/pulls/2147483647", "", bearer(testToken)...)
	assert.Equal(t, http.StatusOK, res.code)
	assert.Equal(t, []int{2147483647}, asked)
}

func TestPullPlansRouting(t *testing.T) {
	s := newServer(t, &fakeBackend{PullPlansFunc: func(context.Context, int) ([]reconciler.BranchPlan, error) { return samplePlans(), nil }})
	tests := []struct {
		method, path string
		wantCode     int
		wantAllow    string
	}{
		{method: "POST", path: "/api/v1/pulls/12", wantCode: 405, wantAllow: "GET, HEAD"},
		{method: "DELETE", path: "/api/v1/pulls/12", wantCode: 405, wantAllow: "GET, HEAD"},
		{method: "GET", path: "/api/v1/pulls", wantCode: 404},
		{method: "GET", path: "/api/v1/pulls/", wantCode: 404},
		{method: "GET", path: "/api/v1/pulls/12/plans", wantCode: 404},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			res := serveAPI(t, s, tt.method, tt.path, "", bearer(testToken)...)
			assert.Equal(t, tt.wantCode, res.code, res.raw)
			assert.Equal(t, tt.wantAllow, res.header.Get("Allow"))
			assert.Contains(t, res.json, "error")
		})
	}
}
