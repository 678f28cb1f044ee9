// Package gitlab is trueup's Forge over the GitLab REST API (gitlab.com, or a self-managed GitLab):
// merge requests, commit statuses, the living plan note, comment commands, and the webhook intake.
package gitlab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go/v2"

	"github.com/trueup/trueup/git/forgetext"
	"github.com/trueup/trueup/reconciler"
)

var _ reconciler.Forge = (*Forge)(nil)

// Options configure a Forge.
type Options struct {
	// Project is the project's full path ("group/infra", "group/subgroup/infra").
	Project string
	// APIURL is the GitLab instance: empty for gitlab.com; otherwise a self-managed GitLab
	// ("https://gitlab.example.com", with or without "/api/v4") or a test server.
	APIURL string
	// TokenFunc returns the access token (personal, project or group) for each request, so a
	// rotated token is picked up. It wins over Token.
	TokenFunc func(ctx context.Context) (string, error)
	// Token is a static access token.
	Token string
	// HTTPClient supplies the base transport (proxies, TLS); its Timeout is used when Timeout is zero.
	HTTPClient *http.Client
	// Timeout bounds each API request; default 30s.
	Timeout time.Duration
	// Logger receives debug lines about notes; default slog.Default(). Tokens are never logged.
	Logger *slog.Logger
	// Username is the GitLab user trueup's notes are written by: only notes by it are taken as
	// trueup's plan note. Empty: looked up on first use (GET /user).
	Username string
}

// Forge is reconciler.Forge over GitLab. It is safe for concurrent use.
type Forge struct {
	client  *gl.Client
	project string
	log     *slog.Logger
	token   func(ctx context.Context) (string, error)

	mu        sync.Mutex
	username  string                   // trueup's own username: Options.Username, or once looked up
	projectID int64                    // the project's numeric id, once looked up (0 before)
	notes     map[int]forgetext.Posted // per merge request, once looked up
}

// New returns a Forge for one project. It does not call GitLab.
func New(ctx context.Context, opts Options) (*Forge, error) {
	if opts.Project == "" || !strings.Contains(opts.Project, "/") {
		return nil, fmt.Errorf("new gitlab forge: project must be a full path such as group/infra, got %q", opts.Project)
	}
	f := &Forge{project: strings.Trim(opts.Project, "/"), log: opts.Logger, username: opts.Username, notes: map[int]forgetext.Posted{}}
	if f.log == nil {
		f.log = slog.Default()
	}
	switch {
	case opts.TokenFunc != nil:
		f.token = opts.TokenFunc
	case opts.Token != "":
		token := opts.Token
		f.token = func(context.Context) (string, error) { return token, nil }
	default:
		return nil, errors.New("new gitlab forge: a token is required")
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	if opts.HTTPClient != nil {
		c := *opts.HTTPClient
		hc = &c
		if hc.Timeout == 0 {
			hc.Timeout = 30 * time.Second
		}
	}
	if opts.Timeout > 0 {
		hc.Timeout = opts.Timeout
	}
	clientOpts := []gl.ClientOptionFunc{gl.WithHTTPClient(hc), gl.WithoutRetries(), gl.WithURLWarningLogger(slog.New(slog.DiscardHandler))}
	if opts.APIURL != "" {
		clientOpts = append(clientOpts, gl.WithBaseURL(opts.APIURL))
	}
	client, err := gl.NewAuthSourceClient(tokenSource{f.token}, clientOpts...)
	if err != nil {
		return nil, fmt.Errorf("new gitlab forge: %w", err)
	}
	f.client = client
	return f, nil
}

// tokenSource sends the token as GitLab's PRIVATE-TOKEN header, read afresh for each request.
type tokenSource struct {
	token func(ctx context.Context) (string, error)
}

func (tokenSource) Init(context.Context, *gl.Client) error { return nil }

func (s tokenSource) Header(ctx context.Context) (string, string, error) {
	t, err := s.token(ctx)
	if err != nil {
		return "", "", fmt.Errorf("token: %w", err)
	}
	if t == "" {
		return "", "", errors.New("token: empty")
	}
	return gl.AccessTokenHeaderName, t, nil
}

// GitUsername is the user name git sends with the token over HTTPS: GitLab accepts any, and
// documents "oauth2".
const GitUsername = "oauth2"

// GitToken returns the token git uses over HTTPS (user GitUsername).
func (f *Forge) GitToken(ctx context.Context) (string, error) {
	t, err := f.token(ctx)
	if err != nil {
		return "", fmt.Errorf("git token: %w", err)
	}
	return t, nil
}

// OpenPulls lists the open merge requests into base, every page. A merge request GitLab is merging
// right now ("locked") is still open: it is neither closed nor merged yet.
func (f *Forge) OpenPulls(ctx context.Context, base string) ([]reconciler.PullRequest, error) {
	var out []reconciler.PullRequest
	for _, state := range []string{"opened", "locked"} {
		opts := &gl.ListProjectMergeRequestsOptions{
			ListOptions: gl.ListOptions{PerPage: 100}, State: gl.Ptr(state), TargetBranch: gl.Ptr(base),
		}
		for {
			mrs, resp, err := f.client.MergeRequests.ListProjectMergeRequests(f.project, opts, gl.WithContext(ctx))
			if err != nil {
				return nil, classify("list merge requests into "+base, err)
			}
			for _, mr := range mrs {
				out = append(out, pullRequest(mr))
			}
			if resp.NextPage == 0 {
				break
			}
			opts.Page = resp.NextPage
		}
	}
	return out, nil
}

// Pull returns one merge request by its iid; a missing one is reconciler.ErrNotFound.
func (f *Forge) Pull(ctx context.Context, number int) (reconciler.PullRequest, error) {
	mr, _, err := f.client.MergeRequests.GetMergeRequest(f.project, int64(number), nil, gl.WithContext(ctx))
	if err != nil {
		return reconciler.PullRequest{}, classify(fmt.Sprintf("get merge request !%d", number), err)
	}
	return pullRequest(&mr.BasicMergeRequest), nil
}

// pullRequest maps GitLab's merge request to trueup's. Its number is the iid, the number people see
// (!12) and the one in refs/merge-requests/12/head.
func pullRequest(mr *gl.BasicMergeRequest) reconciler.PullRequest {
	pr := reconciler.PullRequest{
		Number:     int(mr.IID),
		Title:      mr.Title,
		HeadBranch: mr.SourceBranch,
		Head:       reconciler.Revision(mr.SHA),
		Base:       mr.TargetBranch,
		State:      "open",
		// A merge request whose source project is unknown is a fork, never trusted.
		Fork: mr.SourceProjectID == 0 || mr.SourceProjectID != mr.TargetProjectID,
	}
	if mr.Author != nil {
		pr.Author = mr.Author.Username
	}
	switch mr.State {
	case "merged":
		pr.State, pr.Merged = "closed", true
		// A merge commit, else the squash commit, else (a fast-forward merge) the head itself.
		pr.MergeCommit = reconciler.Revision(firstNonEmpty(mr.MergeCommitSHA, mr.SquashCommitSHA, mr.SHA))
	case "closed":
		pr.State = "closed"
	}
	return pr
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// classify wraps err with the operation and a kind: a missing resource is reconciler.ErrNotFound,
// network errors, rate limits and server errors are KindTransient, the rest KindFailed.
func classify(op string, err error) error {
	var respErr *gl.ErrorResponse
	switch {
	case errors.Is(err, context.Canceled):
		return reconciler.Errorf(reconciler.KindCanceled, op, err)
	case errors.Is(err, gl.ErrNotFound):
		return reconciler.Errorf(reconciler.KindFailed, op, fmt.Errorf("%w: %v", reconciler.ErrNotFound, err))
	case errors.As(err, &respErr):
		code := statusCode(respErr)
		if code == http.StatusNotFound {
			return reconciler.Errorf(reconciler.KindFailed, op, fmt.Errorf("%w: %v", reconciler.ErrNotFound, err))
		}
		if code >= 500 || code == http.StatusTooManyRequests {
			return reconciler.Errorf(reconciler.KindTransient, op, err)
		}
		return reconciler.Errorf(reconciler.KindFailed, op, err)
	}
	// Anything else is the transport: DNS, connection, timeout.
	return reconciler.Errorf(reconciler.KindTransient, op, err)
}

// statusCode is the HTTP status of a GitLab error answer.
func statusCode(e *gl.ErrorResponse) int {
	if e.Response != nil {
		return e.Response.StatusCode
	}
	return e.StatusCode
}

// httpStatus is the HTTP status of err when GitLab answered it, else 0. The client answers a 404
// with its own sentinel error.
func httpStatus(err error) int {
	var e *gl.ErrorResponse
	if errors.Is(err, gl.ErrNotFound) {
		return http.StatusNotFound
	}
	if errors.As(err, &e) {
		return statusCode(e)
	}
	return 0
}
