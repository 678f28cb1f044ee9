package gitlab

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

	"github.com/trueup/trueup/git/deliveries"
	"github.com/trueup/trueup/reconciler"
)

// Sink receives what webhooks announce. The handler calls it while GitLab waits for the answer, so
// every method must only enqueue and return at once: never run Terraform, call GitLab, or block on a
// full queue. A payload is a hint, never the truth: the sink reads what it needs from the API. ctx is
// the request's context. Implementations must be safe for concurrent use.
type Sink interface {
	// Push says branch now points at head; head is empty when the branch was deleted.
	Push(ctx context.Context, branch string, head reconciler.Revision)
	// PullRequest says a merge request was opened, updated, reopened, closed or merged.
	PullRequest(ctx context.Context, action string, pr reconciler.PullRequest)
	// PullComment says comment id was posted on merge request pr.
	PullComment(ctx context.Context, pr int, id int64)
}

// WebhookOptions configure the webhook handler.
type WebhookOptions struct {
	// Secret is the webhook's secret token, sent by GitLab as X-Gitlab-Token; required.
	Secret []byte
	// MaxBody is the largest body accepted; default 25 MB.
	MaxBody int64
	// Sink receives the events; required.
	Sink Sink
	// DedupSize is how many recent X-Gitlab-Event-UUIDs are remembered to drop redeliveries; default 10000.
	DedupSize int
	// Deliveries, when set, records delivery ids where every replica sees them (a shared database),
	// so a redelivery to another replica is dropped too; memory is the fallback while it fails.
	Deliveries deliveries.Shared
	// Project, when set ("group/infra"), ignores events of other projects (group hooks).
	Project string
	// Logger receives one debug line per delivery; default slog.Default(). Payloads are not logged.
	Logger *slog.Logger
}

const defaultMaxBody = 25 << 20

// NewWebhookHandler returns the handler GitLab posts webhooks to. It compares X-Gitlab-Token with
// the secret (in constant time) before anything else, drops redeliveries by X-Gitlab-Event-UUID,
// hands Push, Merge Request and (merge request) Note events to the Sink, and answers at once: 202
// queued or ignored, 200 for duplicates, 401 for a wrong or missing token, 413 for a body over
// MaxBody.
func NewWebhookHandler(opts WebhookOptions) (http.Handler, error) {
	if len(opts.Secret) == 0 {
		return nil, errors.New("new gitlab webhook handler: a secret token is required")
	}
	if opts.Sink == nil {
		return nil, errors.New("new gitlab webhook handler: a sink is required")
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
	return &webhookHandler{opts: opts, secret: sha256.Sum256(opts.Secret), seen: deliveries.NewDedup(opts.DedupSize, opts.Deliveries, opts.Logger)}, nil
}

type webhookHandler struct {
	opts   WebhookOptions
	secret [32]byte // the secret's hash: comparing hashes takes the same time whatever the token's length
	seen   *deliveries.Dedup
}

// Event names GitLab sends in X-Gitlab-Event.
const (
	eventPush         = "Push Hook"
	eventMergeRequest = "Merge Request Hook"
	eventNote         = "Note Hook"
)

func (h *webhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		reply(w, http.StatusMethodNotAllowed, "error", "method not allowed")
		return
	}
	if !h.validToken(r.Header.Get("X-Gitlab-Token")) {
		reply(w, http.StatusUnauthorized, "error", "invalid or missing X-Gitlab-Token")
		return
	}
	contentType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || contentType != "application/json" {
		reply(w, http.StatusUnsupportedMediaType, "error", "unsupported content type")
		return
	}
	payload, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			reply(w, http.StatusRequestEntityTooLarge, "error", "body too large")
			return
		}
		reply(w, http.StatusBadRequest, "error", "cannot read body")
		return
	}
	event, delivery := r.Header.Get("X-Gitlab-Event"), r.Header.Get("X-Gitlab-Event-UUID")
	log := h.opts.Logger.With("event", event, "delivery", delivery)
	switch event {
	case eventPush, eventMergeRequest, eventNote:
	case "":
		reply(w, http.StatusBadRequest, "error", "missing X-Gitlab-Event")
		return
	default:
		reply(w, http.StatusAccepted, "status", "ignored")
		return
	}
	var hook hookPayload
	if err := json.Unmarshal(payload, &hook); err != nil {
		reply(w, http.StatusBadRequest, "error", "invalid payload")
		return
	}
	// Checked only after the token, so forged requests cannot fill the list.
	if delivery != "" && !h.seen.Fresh(r.Context(), delivery) {
		log.DebugContext(r.Context(), "duplicate webhook delivery")
		reply(w, http.StatusOK, "status", "duplicate")
		return
	}
	status := "ignored"
	if h.ours(hook.Project.PathWithNamespace) && h.dispatch(r.Context(), event, hook) {
		status = "queued"
	}
	log.DebugContext(r.Context(), "webhook", "status", status)
	reply(w, http.StatusAccepted, "status", status)
}

// validToken compares the delivery's token with the secret in constant time.
func (h *webhookHandler) validToken(token string) bool {
	if token == "" {
		return false
	}
	sum := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(sum[:], h.secret[:]) == 1
}

// dispatch hands one event to the sink and reports whether it did.
func (h *webhookHandler) dispatch(ctx context.Context, event string, hook hookPayload) bool {
	switch event {
	case eventPush:
		branch, ok := strings.CutPrefix(hook.Ref, "refs/heads/")
		if !ok {
			return false
		}
		head := reconciler.Revision(hook.After)
		if strings.Trim(hook.After, "0") == "" {
			head = "" // the branch was deleted
		}
		h.opts.Sink.Push(ctx, branch, head)
		return true
	case eventMergeRequest:
		a := hook.ObjectAttributes
		switch a.Action {
		case "open", "reopen", "update", "close", "merge":
		default:
			return false // approvals, labels and the like change no plan
		}
		pr := reconciler.PullRequest{
			Number: int(a.IID), Title: a.Title, HeadBranch: a.SourceBranch, Base: a.TargetBranch,
			Head: reconciler.Revision(a.LastCommit.ID), State: "open",
			Fork: a.SourceProjectID == 0 || a.SourceProjectID != a.TargetProjectID,
		}
		switch a.State {
		case "merged":
			pr.State, pr.Merged = "closed", true
		case "closed":
			pr.State = "closed"
		}
		h.opts.Sink.PullRequest(ctx, a.Action, pr)
		return true
	case eventNote:
		if hook.ObjectAttributes.NoteableType != "MergeRequest" || hook.MergeRequest.IID == 0 {
			return false
		}
		h.opts.Sink.PullComment(ctx, int(hook.MergeRequest.IID), hook.ObjectAttributes.ID)
		return true
	}
	return false
}

func (h *webhookHandler) ours(project string) bool {
	return h.opts.Project == "" || strings.EqualFold(project, h.opts.Project)
}

// hookPayload is the part of GitLab's Push, Merge Request and Note hook payloads trueup reads.
type hookPayload struct {
	ObjectKind string `json:"object_kind"`
	Ref        string `json:"ref"`
	After      string `json:"after"`
	Project    struct {
		PathWithNamespace string `json:"path_with_namespace"`
	} `json:"project"`
	ObjectAttributes struct {
		ID              int64  `json:"id"`
		IID             int64  `json:"iid"`
		Action          string `json:"action"`
		State           string `json:"state"`
		Title           string `json:"title"`
		SourceBranch    string `json:"source_branch"`
		TargetBranch    string `json:"target_branch"`
		SourceProjectID int64  `json:"source_project_id"`
		TargetProjectID int64  `json:"target_project_id"`
		NoteableType    string `json:"noteable_type"`
		LastCommit      struct {
			ID string `json:"id"`
		} `json:"last_commit"`
	} `json:"object_attributes"`
	MergeRequest struct {
		IID int64 `json:"iid"`
	} `json:"merge_request"`
}

func reply(w http.ResponseWriter, code int, key, value string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{key: value})
}
