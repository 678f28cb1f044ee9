package github_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/git/github"
	"github.com/trueup/trueup/git/github/githubtest"
	"github.com/trueup/trueup/reconciler"
)

const secret = "It's a Secret to Everybody"

// recordingSink records what the handler enqueued.
type recordingSink struct {
	mu     sync.Mutex
	pushes []string
	pulls  []string
	prs    []reconciler.PullRequest
	notes  [][2]int64
}

func (s *recordingSink) PullComment(_ context.Context, pr int, id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notes = append(s.notes, [2]int64{int64(pr), id})
}

func (s *recordingSink) Push(_ context.Context, branch string, head reconciler.Revision) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pushes = append(s.pushes, branch+"@"+string(head))
}

func (s *recordingSink) PullRequest(_ context.Context, action string, pr reconciler.PullRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pulls = append(s.pulls, action)
	s.prs = append(s.prs, pr)
}

func (s *recordingSink) calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pushes) + len(s.pulls) + len(s.notes)
}

func newHandler(t *testing.T, mutate ...func(*github.WebhookOptions)) (http.Handler, *recordingSink) {
	t.Helper()
	sink := &recordingSink{}
	opts := github.WebhookOptions{Secret: []byte(secret), Sink: sink, Repository: "acme/infra"}
	for _, m := range mutate {
		m(&opts)
	}
	h, err := github.NewWebhookHandler(opts)
	require.NoError(t, err)
	return h, sink
}

func serve(h http.Handler, r *http.Request) (int, map[string]string) {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var body map[string]string
	_ = json.Unmarshal(w.Body.Bytes(), &body)
	return w.Code, body
}

func pushPayload(ref, after string) map[string]any {
	return map[string]any{
		"ref": ref, "before": strings.Repeat("0", 40), "after": after,
		"repository": map[string]any{"full_name": "acme/infra"},
	}
}

func pullPayload(action string, fork bool) map[string]any {
	head := "acme/infra"
	if fork {
		head = "mallory/infra"
	}
	return map[string]any{
		"action": action, "number": 12,
		"repository": map[string]any{"full_name": "acme/infra"},
		"pull_request": map[string]any{
			"number": 12, "title": "Add a bucket", "state": "open",
			"head": map[string]any{"ref": "bucket", "sha": string(rev), "repo": map[string]any{"full_name": head}},
			"base": map[string]any{"ref": "main", "repo": map[string]any{"full_name": "acme/infra"}},
		},
	}
}

func TestWebhookPush(t *testing.T) {
	h, sink := newHandler(t)
	code, body := serve(h, githubtest.SignedRequest(secret, "push", "d-1", pushPayload("refs/heads/feature/x", string(rev))))
	assert.Equal(t, http.StatusAccepted, code)
	assert.Equal(t, "queued", body["status"])
	assert.Equal(t, []string{"feature/x@" + string(rev)}, sink.pushes)

	// A deleted branch has no head; a tag is not a branch.
	deleted := pushPayload("refs/heads/old", strings.Repeat("0", 40))
	deleted["deleted"] = true
	serve(h, githubtest.SignedRequest(secret, "push", "d-2", deleted))
	code, body = serve(h, githubtest.SignedRequest(secret, "push", "d-3", pushPayload("refs/tags/v1", string(rev))))
	assert.Equal(t, http.StatusAccepted, code)
	assert.Equal(t, "ignored", body["status"])
	assert.Equal(t, []string{"feature/x@" + string(rev), "old@"}, sink.pushes)
}

func TestWebhookPullRequestFromFork(t *testing.T) {
	h, sink := newHandler(t)
	code, _ := serve(h, githubtest.SignedRequest(secret, "pull_request", "d-1", pullPayload("opened", true)))
	assert.Equal(t, http.StatusAccepted, code)
	require.Equal(t, []string{"opened"}, sink.pulls)
	assert.Equal(t, reconciler.PullRequest{Number: 12, Title: "Add a bucket", HeadBranch: "bucket", Head: rev, Base: "main", Fork: true, State: "open"}, sink.prs[0])

	serve(h, githubtest.SignedRequest(secret, "pull_request", "d-2", pullPayload("synchronize", false)))
	require.Len(t, sink.prs, 2)
	assert.False(t, sink.prs[1].Fork)

	// Labels and plain edits do not concern trueup.
	code, body := serve(h, githubtest.SignedRequest(secret, "pull_request", "d-3", pullPayload("labeled", false)))
	assert.Equal(t, http.StatusAccepted, code)
	assert.Equal(t, "ignored", body["status"])
	serve(h, githubtest.SignedRequest(secret, "pull_request", "d-4", pullPayload("edited", false)))
	retargeted := pullPayload("edited", false)
	retargeted["changes"] = map[string]any{"base": map[string]any{"ref": map[string]any{"from": "develop"}}}
	serve(h, githubtest.SignedRequest(secret, "pull_request", "d-5", retargeted))
	assert.Equal(t, []string{"opened", "synchronize", "edited"}, sink.pulls)
}

func TestWebhookRejects(t *testing.T) {
	tests := []struct {
		name   string
		req    func() *http.Request
		code   int
		status string // the "status" field, when the request is accepted
	}{
		{"bad signature", func() *http.Request {
			return githubtest.SignedRequest("not the secret", "push", "d-1", pushPayload("refs/heads/main", string(rev)))
		}, http.StatusUnauthorized, ""},
		{"missing signature", func() *http.Request {
			return githubtest.UnsignedRequest("push", "d-1", pushPayload("refs/heads/main", string(rev)))
		}, http.StatusUnauthorized, ""},
		{"tampered body", func() *http.Request {
			r := githubtest.SignedRequest(secret, "push", "d-1", pushPayload("refs/heads/main", string(rev)))
			sig := r.Header.Get("X-Hub-Signature-256")
			r2 := githubtest.UnsignedRequest("push", "d-1", pushPayload("refs/heads/prod", string(rev)))
			r2.Header.Set("X-Hub-Signature-256", sig)
			return r2
		}, http.StatusUnauthorized, ""},
		{"oversized body", func() *http.Request {
			p := pushPayload("refs/heads/main", string(rev))
			p["padding"] = strings.Repeat("x", 2048)
			return githubtest.SignedRequest(secret, "push", "d-1", p)
		}, http.StatusRequestEntityTooLarge, ""},
		{"get", func() *http.Request {
			return httptest.NewRequest(http.MethodGet, "/webhook", nil)
		}, http.StatusMethodNotAllowed, ""},
		{"other repository", func() *http.Request {
			p := pushPayload("refs/heads/main", string(rev))
			p["repository"] = map[string]any{"full_name": "acme/other"}
			return githubtest.SignedRequest(secret, "push", "d-1", p)
		}, http.StatusAccepted, "ignored"},
		{"other event", func() *http.Request {
			return githubtest.SignedRequest(secret, "issues", "d-1", map[string]any{"action": "opened"})
		}, http.StatusAccepted, "ignored"},
		{"ping", func() *http.Request {
			return githubtest.SignedRequest(secret, "ping", "d-1", map[string]any{"zen": "Keep it logically awesome."})
		}, http.StatusOK, "pong"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, sink := newHandler(t, func(o *github.WebhookOptions) { o.MaxBody = 1024 })
			code, body := serve(h, tt.req())
			assert.Equal(t, tt.code, code)
			if tt.status != "" {
				assert.Equal(t, tt.status, body["status"])
			} else {
				assert.NotEmpty(t, body["error"])
			}
			assert.Zero(t, sink.calls(), "nothing may be queued")
		})
	}
}

func TestWebhookDuplicateDelivery(t *testing.T) {
	h, sink := newHandler(t, func(o *github.WebhookOptions) { o.DedupSize = 2 })
	payload := pushPayload("refs/heads/main", string(rev))
	code, _ := serve(h, githubtest.SignedRequest(secret, "push", "d-1", payload))
	assert.Equal(t, http.StatusAccepted, code)
	code, body := serve(h, githubtest.SignedRequest(secret, "push", "d-1", payload))
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "duplicate", body["status"])
	assert.Equal(t, 1, sink.calls())

	// Only the last DedupSize ids are remembered.
	serve(h, githubtest.SignedRequest(secret, "push", "d-2", payload))
	serve(h, githubtest.SignedRequest(secret, "push", "d-3", payload))
	serve(h, githubtest.SignedRequest(secret, "push", "d-1", payload))
	assert.Equal(t, 4, sink.calls())
}

func TestWebhookRequiresSecretAndSink(t *testing.T) {
	_, err := github.NewWebhookHandler(github.WebhookOptions{Sink: &recordingSink{}})
	assert.ErrorContains(t, err, "secret")
	_, err = github.NewWebhookHandler(github.WebhookOptions{Secret: []byte{}, Sink: &recordingSink{}})
	assert.Error(t, err)
	_, err = github.NewWebhookHandler(github.WebhookOptions{Secret: []byte(secret)})
	assert.ErrorContains(t, err, "sink")
}

// A new comment on a pull request is handed over by number and id only: its text is read from the
// API. Edits, deletions and comments on issues are ignored.
func TestWebhookIssueComment(t *testing.T) {
	h, sink := newHandler(t)
	comment := func(action string, pull bool) map[string]any {
		issue := map[string]any{"number": 12, "title": "Add a bucket"}
		if pull {
			issue["pull_request"] = map[string]any{"url": "https://api.github.com/repos/acme/infra/pulls/12"}
		}
		return map[string]any{
			"action": action, "issue": issue, "repository": map[string]any{"full_name": "acme/infra"},
			"comment": map[string]any{"id": 901, "body": "trueup approve", "user": map[string]any{"login": "octocat"}},
		}
	}
	code, body := serve(h, githubtest.SignedRequest(secret, "issue_comment", "c-1", comment("created", true)))
	assert.Equal(t, http.StatusAccepted, code)
	assert.Equal(t, "queued", body["status"])
	for i, p := range []map[string]any{comment("edited", true), comment("deleted", true), comment("created", false)} {
		_, body = serve(h, githubtest.SignedRequest(secret, "issue_comment", fmt.Sprintf("c-%d", i+2), p))
		assert.Equal(t, "ignored", body["status"], i)
	}
	assert.Equal(t, [][2]int64{{12, 901}}, sink.notes)
	code, _ = serve(h, githubtest.SignedRequest("forged", "issue_comment", "c-9", comment("created", true)))
	assert.Equal(t, http.StatusUnauthorized, code)
	assert.Len(t, sink.notes, 1)
}
