// Package github is trueup's Forge over the GitHub REST API (github.com, or GitHub Enterprise Server):
// pull requests, commit statuses or check runs, the living plan comment, and the webhook intake.
package github

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	gh "github.com/google/go-github/v60/github"

	"github.com/trueup/trueup/git/forgetext"
	"github.com/trueup/trueup/reconciler"
)

var _ reconciler.Forge = (*Forge)(nil)

// Options configure a Forge. Exactly one way to authenticate is used: a GitHub App (AppID,
// InstallationID, PrivateKeyFile), else TokenFunc, else Token.
type Options struct {
	// Owner and Repo name the repository ("acme", "infra").
	Owner, Repo string
	// APIURL is the REST API's base URL: empty for api.github.com; otherwise a GitHub Enterprise Server
	// ("https://ghe.example.com" or "https://ghe.example.com/api/v3/") or a test server. "/api/v3/" is
	// added when the URL lacks it (go-github's WithEnterpriseURLs); githubtest serves both forms.
	APIURL string
	// Token is a personal access or fine-grained token.
	Token string
	// TokenFunc returns the token to use for each request, for tokens that rotate. It wins over Token.
	TokenFunc func(ctx context.Context) (string, error)
	// AppID, InstallationID and PrivateKeyFile authenticate as a GitHub App installation. An App sets
	// check runs instead of commit statuses.
	AppID, InstallationID int64
	PrivateKeyFile        string
	// HTTPClient supplies the base transport (proxies, TLS); its Timeout is used when Timeout is zero.
	HTTPClient *http.Client
	// Timeout bounds each API request; default 30s.
	Timeout time.Duration
	// Logger receives debug lines about comments; default slog.Default(). Tokens are never logged.
	Logger *slog.Logger
	// Login is the GitHub login trueup's comments are written by ("trueup-bot", or "<app-slug>[bot]"
	// for a GitHub App): only comments by it are taken as trueup's plan comment. Empty: looked up on
	// first use, GET /user for a token, GET /app with the App's JWT for an App. Set it for tokens that
	// cannot read /user, such as an Actions GITHUB_TOKEN ("github-actions[bot]").
	Login string
}

// Forge is reconciler.Forge over GitHub. It is safe for concurrent use.
type Forge struct {
	client       *gh.Client
	owner, repo  string
	log          *slog.Logger
	app          *ghinstallation.Transport // nil unless running as an App
	appClient    *gh.Client                // authenticated as the App itself (JWT); nil unless running as an App
	tokenFunc    func(ctx context.Context) (string, error)
	useCheckRuns bool

	mu       sync.Mutex
	login    string                   // trueup's own login: Options.Login, or once looked up
	comments map[int]forgetext.Posted // per pull request, once looked up
}

// New returns a Forge for one repository. It does not call GitHub.
func New(ctx context.Context, opts Options) (*Forge, error) {
	if opts.Owner == "" || opts.Repo == "" {
		return nil, errors.New("new github forge: owner and repo are required")
	}
	base := http.DefaultTransport
	timeout := 30 * time.Second
	if opts.HTTPClient != nil {
		if opts.HTTPClient.Transport != nil {
			base = opts.HTTPClient.Transport
		}
		if opts.HTTPClient.Timeout > 0 {
			timeout = opts.HTTPClient.Timeout
		}
	}
	if opts.Timeout > 0 {
		timeout = opts.Timeout
	}
	f := &Forge{
		owner:    opts.Owner,
		repo:     opts.Repo,
		log:      opts.Logger,
		login:    opts.Login,
		comments: map[int]forgetext.Posted{},
	}
	if f.log == nil {
		f.log = slog.Default()
	}

	// Resolve the API URL first: the App transport must fetch tokens from the same server.
	client, err := apiClient(nil, opts.APIURL)
	if err != nil {
		return nil, err
	}
	apiBase := strings.TrimRight(client.BaseURL.String(), "/")

	var transport http.RoundTripper
	switch {
	case opts.AppID != 0 || opts.InstallationID != 0 || opts.PrivateKeyFile != "":
		if opts.AppID == 0 || opts.InstallationID == 0 || opts.PrivateKeyFile == "" {
			return nil, errors.New("new github forge: a GitHub App needs AppID, InstallationID and PrivateKeyFile")
		}
		if err := f.useApp(opts, base, apiBase, timeout); err != nil {
			return nil, err
		}
		transport = f.app
	case opts.TokenFunc != nil:
		f.tokenFunc = opts.TokenFunc
		transport = &tokenTransport{base: base, token: opts.TokenFunc}
	case opts.Token != "":
		token := opts.Token
		f.tokenFunc = func(context.Context) (string, error) { return token, nil }
		transport = &tokenTransport{base: base, token: f.tokenFunc}
	default:
		transport = base // anonymous: reads of public repositories only
	}
	if f.client, err = apiClient(&http.Client{Transport: transport, Timeout: timeout}, opts.APIURL); err != nil {
		return nil, err
	}
	return f, nil
}

// useApp makes f authenticate as a GitHub App installation: its requests carry the installation's
// token; appClient, with the App's own JWT, can read the App (its slug).
func (f *Forge) useApp(opts Options, base http.RoundTripper, apiBase string, timeout time.Duration) error {
	key, err := os.ReadFile(opts.PrivateKeyFile)
	if err != nil {
		return fmt.Errorf("new github forge: app key: %w", err)
	}
	itr, err := ghinstallation.New(base, opts.AppID, opts.InstallationID, key)
	if err != nil {
		return fmt.Errorf("new github forge: app key: %w", err)
	}
	itr.BaseURL = apiBase
	itr.Client = &http.Client{Transport: base, Timeout: timeout}
	// A JWT transport of its own: the installation transport changes the one it holds on every refresh.
	atr, err := ghinstallation.NewAppsTransport(base, opts.AppID, key)
	if err != nil {
		return fmt.Errorf("new github forge: app key: %w", err)
	}
	if f.appClient, err = apiClient(&http.Client{Transport: atr, Timeout: timeout}, opts.APIURL); err != nil {
		return err
	}
	f.app, f.useCheckRuns = itr, true
	return nil
}

// apiClient is a go-github client over hc for the API at apiURL (empty: api.github.com).
func apiClient(hc *http.Client, apiURL string) (*gh.Client, error) {
	c := gh.NewClient(hc)
	if apiURL == "" {
		return c, nil
	}
	c, err := c.WithEnterpriseURLs(apiURL, apiURL)
	if err != nil {
		return nil, fmt.Errorf("new github forge: api url: %w", err)
	}
	return c, nil
}

// GitToken returns a token git can use over HTTPS (user "x-access-token"): the App installation's
// current token, refreshed when near expiry, or the configured token.
func (f *Forge) GitToken(ctx context.Context) (string, error) {
	switch {
	case f.app != nil:
		t, err := f.app.Token(ctx)
		if err != nil {
			return "", classify("installation token", err)
		}
		return t, nil
	case f.tokenFunc != nil:
		t, err := f.tokenFunc(ctx)
		if err != nil {
			return "", fmt.Errorf("git token: %w", err)
		}
		return t, nil
	}
	return "", errors.New("git token: no token or GitHub App configured")
}

// tokenTransport adds a bearer token to every request.
type tokenTransport struct {
	base  http.RoundTripper
	token func(ctx context.Context) (string, error)
}

func (t *tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	token, err := t.token(req.Context())
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("token: %w", err)
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+token)
	return t.base.RoundTrip(r)
}

// OpenPulls lists the open pull requests into base, every page.
func (f *Forge) OpenPulls(ctx context.Context, base string) ([]reconciler.PullRequest, error) {
	opts := &gh.PullRequestListOptions{State: "open", Base: base, ListOptions: gh.ListOptions{PerPage: 100}}
	var out []reconciler.PullRequest
	for {
		prs, resp, err := f.client.PullRequests.List(ctx, f.owner, f.repo, opts)
		if err != nil {
			return nil, classify("list pull requests into "+base, err)
		}
		for _, p := range prs {
			out = append(out, pullRequest(p))
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// Pull returns one pull request; a missing one is reconciler.ErrNotFound.
func (f *Forge) Pull(ctx context.Context, number int) (reconciler.PullRequest, error) {
	p, _, err := f.client.PullRequests.Get(ctx, f.owner, f.repo, number)
	if err != nil {
		return reconciler.PullRequest{}, classify(fmt.Sprintf("get pull request %d", number), err)
	}
	return pullRequest(p), nil
}

// pullRequest maps GitHub's pull request to trueup's.
func pullRequest(p *gh.PullRequest) reconciler.PullRequest {
	pr := reconciler.PullRequest{
		Number:     p.GetNumber(),
		Title:      p.GetTitle(),
		HeadBranch: p.GetHead().GetRef(),
		Head:       reconciler.Revision(p.GetHead().GetSHA()),
		Base:       p.GetBase().GetRef(),
		State:      p.GetState(),
		Merged:     p.GetMerged() || p.MergedAt != nil,
		Author:     p.GetUser().GetLogin(),
	}
	// A deleted fork has no head repository: treat it as a fork, never as trusted.
	headRepo, baseRepo := p.GetHead().GetRepo(), p.GetBase().GetRepo()
	pr.Fork = headRepo == nil || !strings.EqualFold(headRepo.GetFullName(), baseRepo.GetFullName())
	if pr.Merged {
		pr.MergeCommit = reconciler.Revision(p.GetMergeCommitSHA())
	}
	return pr
}

// classify wraps err with the operation and a kind: a missing resource is reconciler.ErrNotFound,
// network errors, rate limits and server errors are KindTransient, the rest KindFailed.
func classify(op string, err error) error {
	var (
		respErr  *gh.ErrorResponse
		rateErr  *gh.RateLimitError
		abuseErr *gh.AbuseRateLimitError
		appErr   *ghinstallation.HTTPError
	)
	switch {
	case errors.Is(err, context.Canceled):
		return reconciler.Errorf(reconciler.KindCanceled, op, err)
	case errors.As(err, &rateErr), errors.As(err, &abuseErr):
		return reconciler.Errorf(reconciler.KindTransient, op, err)
	case errors.As(err, &respErr):
		code := respErr.Response.StatusCode
		if code == http.StatusNotFound {
			return reconciler.Errorf(reconciler.KindFailed, op, fmt.Errorf("%w: %v", reconciler.ErrNotFound, err))
		}
		if code >= 500 || code == http.StatusTooManyRequests {
			return reconciler.Errorf(reconciler.KindTransient, op, err)
		}
		return reconciler.Errorf(reconciler.KindFailed, op, err)
	case errors.As(err, &appErr):
		if appErr.Response != nil && appErr.Response.StatusCode < 500 {
			return reconciler.Errorf(reconciler.KindFailed, op, err)
		}
		return reconciler.Errorf(reconciler.KindTransient, op, err)
	}
	// Anything else is the transport: DNS, connection, timeout.
	return reconciler.Errorf(reconciler.KindTransient, op, err)
}
