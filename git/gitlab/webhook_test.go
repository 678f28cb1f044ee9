package gitlab_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/git/gitlab"
	"github.com/trueup/trueup/git/gitlab/gitlabtest"
	"github.com/trueup/trueup/reconciler"
)

const secret = "hook-secret"

// sink records what the handler hands over.
type sink struct {
	mu       sync.Mutex
	pushes   []string
	pulls    []reconciler.PullRequest
	actions  []string
	comments [][2]int64
}

var _ gitlab.Sink = (*sink)(nil)

func (s *sink) Push(_ context.Context, branch string, head reconciler.Revision) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pushes = append(s.pushes, branch+"@"+string(head))
}

func (s *sink) PullRequest(_ context.Context, action string, pr reconciler.PullRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.actions = append(s.actions, action)
	s.pulls = append(s.pulls, pr)
}

func (s *sink) PullComment(_ context.Context, pr int, id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.comments = append(s.comments, [2]int64{int64(pr), id})
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pushes) + len(s.pulls) + len(s.comments)
}

func newHandler(t *testing.T, mutate ...func(*gitlab.WebhookOptions)) (http.Handler, *sink) {
	t.Helper()
	s := &sink{}
	opts := gitlab.WebhookOptions{Secret: []byte(secret), Sink: s, Project: "group/infra"}
	for _, m := range mutate {
		m(&opts)
	}
	h, err := gitlab.NewWebhookHandler(opts)
	require.NoError(t, err)
	return h, s
}

func serve(h http.Handler, req *http.Request) (int, string) {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	body, _ := io.ReadAll(w.Result().Body)
	return w.Code, string(body)
}

func TestWebhookEvents(t *testing.T) {
	srv := gitlabtest.NewServer(t)
	h, s := newHandler(t)

	code, body := serve(h, gitlabtest.Hook(secret, "Push Hook", "u1", srv.PushHook("feature", "", rev)))
	assert.Equal(t, http.StatusAccepted, code, body)
	code, _ = serve(h, gitlabtest.Hook(secret, "Push Hook", "u2", srv.PushHook("old", rev, "0000000000000000000000000000000000000000")))
	assert.Equal(t, http.StatusAccepted, code)
	assert.Equal(t, []string{"feature@" + string(rev), "old@"}, s.pushes, "a deleted branch has no head")

	mr := reconciler.PullRequest{Number: 3, Title: "t", HeadBranch: "feature", Head: rev}
	code, _ = serve(h, gitlabtest.Hook(secret, "Merge Request Hook", "u3", srv.MergeRequestHook("open", mr)))
	assert.Equal(t, http.StatusAccepted, code)
	fork := mr
	fork.Number, fork.Fork = 4, true
	serve(h, gitlabtest.Hook(secret, "Merge Request Hook", "u4", srv.MergeRequestHook("update", fork)))
	require.Len(t, s.pulls, 2)
	assert.Equal(t, []string{"open", "update"}, s.actions)
	assert.Equal(t, reconciler.PullRequest{Number: 3, Title: "t", HeadBranch: "feature", Head: rev, Base: "main", State: "open"}, s.pulls[0])
	assert.True(t, s.pulls[1].Fork, "the source project differs from the target")

	code, body = serve(h, gitlabtest.Hook(secret, "Note Hook", "u5", srv.NoteHook(3, 777, "alice", "trueup plan")))
	assert.Equal(t, http.StatusAccepted, code)
	assert.Contains(t, body, "queued")
	assert.Equal(t, [][2]int64{{3, 777}}, s.comments)

	// Events that change no plan are accepted and ignored.
	code, body = serve(h, gitlabtest.Hook(secret, "Merge Request Hook", "u6", srv.MergeRequestHook("approved", mr)))
	assert.Equal(t, http.StatusAccepted, code)
	assert.Contains(t, body, "ignored")
	code, body = serve(h, gitlabtest.Hook(secret, "Pipeline Hook", "u7", `{"object_kind":"pipeline"}`))
	assert.Equal(t, http.StatusAccepted, code)
	assert.Contains(t, body, "ignored")
	issueNote := srv.NoteHook(3, 778, "alice", "trueup plan")
	issueNote["object_attributes"].(map[string]any)["noteable_type"] = "Issue"
	_, body = serve(h, gitlabtest.Hook(secret, "Note Hook", "u8", issueNote))
	assert.Contains(t, body, "ignored", "a note on an issue is no command")
	assert.Equal(t, 5, s.count())
}

// A group hook delivers other projects' events too: they are ignored.
func TestWebhookIgnoresOtherProjects(t *testing.T) {
	srv := gitlabtest.NewServer(t)
	h, s := newHandler(t)
	other := srv.PushHook("main", "", rev)
	other["project"].(map[string]any)["path_with_namespace"] = "group/other"
	code, body := serve(h, gitlabtest.Hook(secret, "Push Hook", "u1", other))
	assert.Equal(t, http.StatusAccepted, code)
	assert.Contains(t, body, "ignored")
	assert.Zero(t, s.count())
}

// Attacks: a forged or missing token, an oversized body, and a replay all run nothing.
func TestWebhookRejects(t *testing.T) {
	srv := gitlabtest.NewServer(t)
	h, s := newHandler(t, func(o *gitlab.WebhookOptions) { o.MaxBody = 4096 })
	push := srv.PushHook("main", "", rev)

	for name, token := range map[string]string{"missing": "", "wrong": "hook-secreT", "prefix": "hook-secre", "longer": secret + "x"} {
		code, body := serve(h, gitlabtest.Hook(token, "Push Hook", "forged-"+name, push))
		assert.Equal(t, http.StatusUnauthorized, code, name)
		assert.NotContains(t, body, secret)
	}
	big := `{"object_kind":"push","ref":"refs/heads/main","padding":"` + strings.Repeat("x", 5000) + `"}`
	code, _ := serve(h, gitlabtest.Hook(secret, "Push Hook", "big", big))
	assert.Equal(t, http.StatusRequestEntityTooLarge, code)

	req := gitlabtest.Hook(secret, "Push Hook", "u1", push)
	req.Header.Set("Content-Type", "text/plain")
	code, _ = serve(h, req)
	assert.Equal(t, http.StatusUnsupportedMediaType, code)
	code, _ = serve(h, gitlabtest.Hook(secret, "", "u1", push))
	assert.Equal(t, http.StatusBadRequest, code)
	code, _ = serve(h, gitlabtest.Hook(secret, "Push Hook", "u1", "{not json"))
	assert.Equal(t, http.StatusBadRequest, code)
	get := httptest.NewRequest(http.MethodGet, "/webhooks/gitlab", nil)
	code, _ = serve(h, get)
	assert.Equal(t, http.StatusMethodNotAllowed, code)
	assert.Zero(t, s.count(), "nothing refused reached the sink")

	// The uuid of a refused delivery was not remembered: the genuine one goes through, once.
	code, _ = serve(h, gitlabtest.Hook(secret, "Push Hook", "forged-wrong", push))
	assert.Equal(t, http.StatusAccepted, code)
	code, body := serve(h, gitlabtest.Hook(secret, "Push Hook", "forged-wrong", push))
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "duplicate")
	assert.Equal(t, 1, s.count())
}

func TestWebhookRequiresSecretAndSink(t *testing.T) {
	_, err := gitlab.NewWebhookHandler(gitlab.WebhookOptions{Sink: &sink{}})
	assert.Error(t, err)
	_, err = gitlab.NewWebhookHandler(gitlab.WebhookOptions{Secret: []byte("s")})
	assert.Error(t, err)
}
