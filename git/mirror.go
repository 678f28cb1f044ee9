// Package git is trueup's reconciler.Source over go-git: a bare mirror of the infrastructure
// repository on local disk, polled cheaply (list refs, fetch only what moved), read through
// io/fs views of commit trees, and checked out incrementally into per-stack work directories.
package git

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/go-git/go-billy/v5/osfs"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/trueup/trueup/reconciler"
)

// Options configure Open.
type Options struct {
	// URL is the repository to follow: a local path, file://, https:// or ssh:// (or scp-like user@host:path).
	URL string
	// Dir is where the bare mirror lives (e.g. <data_dir>/mirror.git). It is created when missing
	// and reused, never re-cloned, when present.
	Dir string
	// Branch is the main branch ("main"); used by Head's callers and for logs.
	Branch string
	// Auth authenticates to the remote. When nil, Token or TokenFunc is used for https URLs.
	Auth transport.AuthMethod
	// Token is a static https token (a GitHub PAT or installation token, a GitLab access token),
	// sent as BasicAuth{Username: Username, Password: Token}.
	Token string
	// Username goes with the token over https: default "x-access-token" (GitHub); GitLab documents
	// "oauth2".
	Username string
	// PullRefs is where the remote keeps pull request heads, as refs/<PullRefs>/N/head:
	// PullRefsGitHub (default, refs/pull) or PullRefsGitLab (refs/merge-requests).
	PullRefs string
	// TokenFunc supplies a fresh https token for each remote operation (a GitHub App installation
	// token that expires). It takes precedence over Token.
	TokenFunc func(ctx context.Context) (string, error)
	// Logger receives debug lines about fetches, an info line per repack of the mirror's pack
	// files and warnings when one fails; nil discards them.
	Logger *slog.Logger
}

// Mirror is a bare mirror of a remote repository. It implements reconciler.Source and is safe
// for concurrent use: go-git is not, so every access to the repository takes one mutex.
type Mirror struct {
	opts    Options
	log     *slog.Logger
	storage *filesystem.Storage

	mu      sync.Mutex // guards repo, storage and remote, and everything go-git does with them
	repo    *gogit.Repository
	remote  *gogit.Remote
	fetches int // how many fetches went to the remote; tests assert on it
	repacks int // how many repacks were attempted; tests assert on it

	// repackAbove is how many pack files the mirror may hold before a poll that fetched repacks
	// them into one. gitPath is the git CLI that repacks; "" repacks with go-git.
	repackAbove int
	gitPath     string
	// looseRefs counts the refs written or removed since the refs were last packed (see packRefs).
	looseRefs int
}

// defaultRepackAbove bounds the packs every object lookup may have to search: each fetch adds one.
const defaultRepackAbove = 32

var _ reconciler.Source = (*Mirror)(nil)

// Open opens the bare mirror in opts.Dir, creating an empty one when the directory holds none.
// It does not contact the remote: the first Poll fetches.
func Open(ctx context.Context, opts Options) (*Mirror, error) {
	if opts.URL == "" {
		return nil, errors.New("open mirror: no repository URL")
	}
	if opts.Dir == "" {
		return nil, errors.New("open mirror: no mirror directory")
	}
	if opts.Branch == "" {
		opts.Branch = "main"
	}
	switch opts.PullRefs {
	case "":
		opts.PullRefs = PullRefsGitHub
	case PullRefsGitHub, PullRefsGitLab:
	default:
		return nil, fmt.Errorf("open mirror: pull request refs %q: want %s or %s", opts.PullRefs, PullRefsGitHub, PullRefsGitLab)
	}
	url, err := normalizeURL(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("open mirror: %w", err)
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("open mirror: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Mirror{opts: opts, log: log, repackAbove: defaultRepackAbove, looseRefs: maxLooseRefs + 1} // pack at the first poll
	if m.gitPath, err = exec.LookPath("git"); err != nil {
		m.gitPath = "" // go-git repacks, more slowly
	}
	m.storage = newStorage(opts.Dir)
	m.repo, err = gogit.Open(m.storage, nil)
	if errors.Is(err, gogit.ErrRepositoryNotExists) {
		m.repo, err = gogit.Init(m.storage, nil)
		if err == nil {
			log.Info("created repository mirror", "dir", opts.Dir)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("open mirror %s: %w", opts.Dir, err)
	}
	// The remote lives in memory only: its URL may carry credentials and may change between runs,
	// and nothing but this process fetches into the mirror.
	m.remote = gogit.NewRemote(m.storage, &config.RemoteConfig{Name: "origin", URLs: []string{url}})
	return m, nil
}

// newStorage returns go-git's storage of the bare repository in dir.
func newStorage(dir string) *filesystem.Storage {
	// Packs stay open between reads (bounded: polls repack beyond repackAbove packs) instead of being
	// reopened for every object. ExclusiveAccess is deliberately off: with it, go-git v5.19 does not see
	// objects of a pack it has just fetched (TestPollRefsMovingToKnownCommitsNeedNoFetch catches that).
	return filesystem.NewStorageWithOptions(osfs.New(dir), cache.NewObjectLRUDefault(),
		filesystem.Options{MaxOpenDescriptors: 64})
}

// normalizeURL makes a relative local path absolute (the file transport needs one) and leaves URLs alone.
func normalizeURL(u string) (string, error) {
	if strings.Contains(u, "://") {
		return u, nil
	}
	if _, err := os.Stat(u); err == nil || filepath.IsAbs(u) || strings.HasPrefix(u, ".") {
		return filepath.Abs(u)
	}
	return u, nil // scp-like ssh: git@github.com:org/repo.git
}

// Close releases the mirror's open files. The Mirror must not be used afterwards.
func (m *Mirror) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.storage.Close()
}

// Head returns the mirror's current head of branch, as of the last Poll, or "" when the
// mirror has no such branch.
func (m *Mirror) Head(branch string) reconciler.Revision {
	m.mu.Lock()
	defer m.mu.Unlock()
	ref, err := m.storage.Reference(plumbing.NewBranchReferenceName(branch))
	if err != nil {
		return ""
	}
	return reconciler.Revision(ref.Hash().String())
}

// auth returns the credentials for one remote operation.
func (m *Mirror) auth(ctx context.Context) (transport.AuthMethod, error) {
	if m.opts.Auth != nil {
		return m.opts.Auth, nil
	}
	if !strings.HasPrefix(m.opts.URL, "https://") && !strings.HasPrefix(m.opts.URL, "http://") {
		return nil, nil
	}
	token := m.opts.Token
	if m.opts.TokenFunc != nil {
		var err error
		if token, err = m.opts.TokenFunc(ctx); err != nil {
			return nil, fmt.Errorf("repository token: %w", err)
		}
	}
	if token == "" {
		return nil, nil
	}
	username := m.opts.Username
	if username == "" {
		username = "x-access-token"
	}
	return &http.BasicAuth{Username: username, Password: token}, nil
}

// commit resolves rev to a commit. rev is a full hash; a branch name of the mirror is also
// accepted. A commit the mirror does not have wraps reconciler.ErrNotFound. Callers hold m.mu.
func (m *Mirror) commit(rev reconciler.Revision) (*object.Commit, error) {
	h, ok := parseHash(rev)
	if !ok {
		ref, err := m.storage.Reference(plumbing.NewBranchReferenceName(string(rev)))
		if err != nil {
			return nil, fmt.Errorf("revision %q %w", rev, reconciler.ErrNotFound)
		}
		h = ref.Hash()
	}
	c, err := m.repo.CommitObject(h)
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return nil, fmt.Errorf("commit %s %w", rev.Short(), reconciler.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("commit %s: %w", rev.Short(), err)
	}
	return c, nil
}

func parseHash(rev reconciler.Revision) (plumbing.Hash, bool) {
	s := string(rev)
	if len(s) != 40 {
		return plumbing.ZeroHash, false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return plumbing.ZeroHash, false
		}
	}
	return plumbing.NewHash(s), true
}

// rootTree resolves rev to its commit's root tree. Callers hold m.mu.
func (m *Mirror) rootTree(rev reconciler.Revision) (*object.Commit, *object.Tree, error) {
	c, err := m.commit(rev)
	if err != nil {
		return nil, nil, err
	}
	t, err := m.repo.TreeObject(c.TreeHash)
	if err != nil {
		return nil, nil, fmt.Errorf("tree of %s: %w", rev.Short(), err)
	}
	return c, t, nil
}
