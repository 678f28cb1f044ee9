package github

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	gh "github.com/google/go-github/v60/github"

	"github.com/trueup/trueup/git/deliveries"
	"github.com/trueup/trueup/reconciler"
)

// Sink receives what webhooks announce. The handler calls it while GitHub waits for the answer, so
// both methods must only enqueue and return at once: never run Terraform, call GitHub, or block on
// a full queue (drop or coalesce instead; polling catches up). ctx is the request's context, canceled
// when the handler returns. Implementations must be safe for concurrent use.
type Sink interface {
	// Push says branch now points at head; head is empty when the branch was deleted.
	Push(ctx context.Context, branch string, head reconciler.Revision)
	// PullRequest says a pull request was opened, synchronize'd (new commits), reopened, closed
	// (pr.Merged tells whether it merged), or edited to change its base branch.
	PullRequest(ctx context.Context, action string, pr reconciler.PullRequest)
	// PullComment says comment id was posted on pull request pr (a command, perhaps: the sink reads
	// it from the API).
	PullComment(ctx context.Context, pr int, id int64)
}

// WebhookOptions configure the webhook handler.
type WebhookOptions struct {
	// Secret is the webhook secret; required (go-github skips validation when it is empty).
	Secret []byte
	// MaxBody is the largest body accepted; default 25 MB, GitHub's own cap.
	MaxBody int64
	// Sink receives the events; required.
	Sink Sink
	// DedupSize is how many recent delivery ids are remembered to drop redeliveries; default 10000.
	DedupSize int
	// Deliveries, when set, records delivery ids where every replica sees them (a shared database),
	// so a redelivery to another replica is dropped too; the ids remembered in memory are the
	// fallback while it fails. It reports whether id is new.
	Deliveries deliveries.Shared
	// Repository, when set ("owner/repo"), ignores events from other repositories (organization hooks).
	Repository string
	// Logger receives one debug line per delivery; default slog.Default(). Payloads are not logged.
	Logger *slog.Logger
}

const defaultMaxBody = 25 << 20

// NewWebhookHandler returns the handler GitHub posts webhooks to. It verifies the HMAC-SHA256
// signature before anything else, drops redeliveries by X-GitHub-Delivery, hands push, pull_request
// and issue_comment (new comments on pull requests) events to the Sink, and answers at once: 202 queued or ignored, 200 for ping and duplicates,
// 401 for a bad or missing signature, 413 for a body over MaxBody.
func NewWebhookHandler(opts WebhookOptions) (http.Handler, error) {
	if len(opts.Secret) == 0 {
		return nil, errors.New("new webhook handler: a secret is required")
	}
	if opts.Sink == nil {
		return nil, errors.New("new webhook handler: a sink is required")
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = defaultMaxBody
	}
	if opts.DedupSize <= 0 {
		opts.DedupSize = 10000
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &webhookHandler{opts: opts, seen: deliveries.NewDedup(opts.DedupSize, opts.Deliveries, opts.Logger)}, nil
}

type webhookHandler struct {
	opts WebhookOptions
	seen *deliveries.Dedup
}

func (h *webhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		reply(w, http.StatusMethodNotAllowed, "error", "method not allowed")
		return
	}
	contentType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (contentType != "application/json" && contentType != "application/x-www-form-urlencoded") {
		reply(w, http.StatusUnsupportedMediaType, "error", "unsupported content type")
		return
	}
	signature := r.Header.Get(gh.SHA256SignatureHeader)
	if signature == "" {
		reply(w, http.StatusUnauthorized, "error", "missing signature")
		return
	}
	body := http.MaxBytesReader(w, r.Body, h.opts.MaxBody)
	payload, err := gh.ValidatePayloadFromBody(contentType, body, signature, h.opts.Secret)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			reply(w, http.StatusRequestEntityTooLarge, "error", "body too large")
			return
		}
		reply(w, http.StatusUnauthorized, "error", "invalid signature")
		return
	}

	event, delivery := gh.WebHookType(r), gh.DeliveryID(r)
	log := h.opts.Logger.With("event", event, "delivery", delivery)
	switch event {
	case "ping":
		reply(w, http.StatusOK, "status", "pong")
		return
	case "push", "pull_request", "issue_comment":
	case "":
		reply(w, http.StatusBadRequest, "error", "missing X-GitHub-Event")
		return
	default:
		reply(w, http.StatusAccepted, "status", "ignored")
		return
	}
	parsed, err := gh.ParseWebHook(event, payload)
	if err != nil {
		reply(w, http.StatusBadRequest, "error", "invalid payload")
		return
	}
	// Checked only after the signature, so forged requests cannot fill the list.
	if delivery != "" && !h.seen.Fresh(r.Context(), delivery) {
		log.DebugContext(r.Context(), "duplicate webhook delivery")
		reply(w, http.StatusOK, "status", "duplicate")
		return
	}

	status := "ignored"
	switch e := parsed.(type) {
	case *gh.PushEvent:
		if h.ours(e.GetRepo().GetFullName()) && strings.HasPrefix(e.GetRef(), "refs/heads/") {
			head := reconciler.Revision(e.GetAfter())
			if e.GetDeleted() {
				head = ""
			}
			h.opts.Sink.Push(r.Context(), strings.TrimPrefix(e.GetRef(), "refs/heads/"), head)
			status = "queued"
		}
	case *gh.IssueCommentEvent:
		if e.GetAction() == "created" && e.GetIssue().IsPullRequest() && h.ours(e.GetRepo().GetFullName()) {
			h.opts.Sink.PullComment(r.Context(), e.GetIssue().GetNumber(), e.GetComment().GetID())
			status = "queued"
		}
	case *gh.PullRequestEvent:
		action := e.GetAction()
		relevant := action == "opened" || action == "synchronize" || action == "reopened" || action == "closed" ||
			(action == "edited" && e.GetChanges().GetBase() != nil)
		if relevant && h.ours(e.GetRepo().GetFullName()) && e.PullRequest != nil {
			h.opts.Sink.PullRequest(r.Context(), action, pullRequest(e.PullRequest))
			status = "queued"
		}
	}
	log.DebugContext(r.Context(), "webhook", "status", status)
	reply(w, http.StatusAccepted, "status", status)
}

func (h *webhookHandler) ours(fullName string) bool {
	return h.opts.Repository == "" || strings.EqualFold(fullName, h.opts.Repository)
}

func reply(w http.ResponseWriter, code int, key, value string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{key: value})
}
