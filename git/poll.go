package git

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"

	"github.com/trueup/trueup/reconciler"
)

// Where code hosts keep the head of pull request N: refs/<namespace>/N/head.
const (
	// PullRefsGitHub is GitHub's namespace: refs/pull/N/head (the default).
	PullRefsGitHub = "refs/pull"
	// PullRefsGitLab is GitLab's namespace: refs/merge-requests/N/head.
	PullRefsGitLab = "refs/merge-requests"
)

// fetchSpecs are the only refs the mirror keeps: branches and the code host's pull request heads
// (under pullRefs). No tags.
func fetchSpecs(pullRefs string) []config.RefSpec {
	return []config.RefSpec{
		"+refs/heads/*:refs/heads/*",
		config.RefSpec("+" + pullRefs + "/*/head:" + pullRefs + "/*/head"),
	}
}

// Poll lists the remote's refs (no objects are transferred), compares them with the mirror's, and
// fetches only when a ref points at a commit the mirror lacks. Refs that moved to commits the
// mirror already has are updated in place; branches and pull heads gone from the remote are
// pruned. Heads are read back from the mirror, so they only name commits it holds. A poll that
// fetched repacks the mirror when fetches have left too many pack files (see maintainPacks).
// An unreachable remote is a KindTransient error and leaves the mirror as it was.
func (m *Mirror) Poll(ctx context.Context) (reconciler.Heads, error) {
	auth, err := m.auth(ctx)
	if err != nil {
		return reconciler.Heads{}, reconciler.Errorf(reconciler.KindTransient, "poll", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()

	remote, err := m.listRemote(ctx, auth)
	if err != nil {
		return reconciler.Heads{}, err
	}
	local, err := m.localRefs()
	if err != nil {
		return reconciler.Heads{}, fmt.Errorf("poll: %w", err)
	}

	var missing bool
	var moved []*plumbing.Reference
	for name, h := range remote {
		if local[name] == h {
			continue
		}
		m.looseRefs++
		if m.hasCommit(h) {
			moved = append(moved, plumbing.NewHashReference(name, h))
		} else {
			missing = true
		}
	}
	if missing {
		if err := m.fetch(ctx, auth); err != nil {
			return reconciler.Heads{}, err
		}
	} else {
		// Every moved ref names a commit fetched before (a pull head equal to a branch, a reset):
		// the objects are here, with their history, so no round trip is needed.
		for _, ref := range moved {
			if err := m.storage.SetReference(ref); err != nil {
				return reconciler.Heads{}, fmt.Errorf("poll: update %s: %w", ref.Name(), err)
			}
		}
	}
	if local, err = m.prune(remote, local); err != nil {
		return reconciler.Heads{}, err
	}
	if missing {
		m.maintainPacks(ctx)
	}
	m.packRefs()
	return m.headsOf(local), nil
}

// prune removes the refs the remote no longer had at the listing and returns the mirror's refs. A
// ref the fetch brought beyond the listing (go-git's fetch lists again) was not in before: it stays.
// Callers hold m.mu.
func (m *Mirror) prune(remote, before map[plumbing.ReferenceName]plumbing.Hash) (map[plumbing.ReferenceName]plumbing.Hash, error) {
	local, err := m.localRefs()
	if err != nil {
		return nil, fmt.Errorf("poll: %w", err)
	}
	for name := range local {
		_, listed := remote[name]
		_, existed := before[name]
		if listed || !existed {
			continue
		}
		if err := m.storage.RemoveReference(name); err != nil {
			return nil, fmt.Errorf("poll: prune %s: %w", name, err)
		}
		m.log.Debug("pruned ref gone from the remote", "ref", name.String())
		m.looseRefs++
		delete(local, name)
	}
	return local, nil
}

// maxLooseRefs is how many refs may change before the mirror packs its refs again.
const maxLooseRefs = 64

// packRefs packs the mirror's refs into packed-refs once more than maxLooseRefs were written or
// removed since the last time, and removes the directories that leaves empty. Every poll reads all
// refs, a loose ref is a file (with a path lookup per directory in go-git), and GitHub keeps a
// refs/pull/N/ directory per pull request: with 200 open pull requests, reading 400 loose refs was
// most of a poll, three times over when it fetched. A poll that changes a few refs leaves them
// loose. Callers hold m.mu.
func (m *Mirror) packRefs() {
	if m.looseRefs <= maxLooseRefs {
		return
	}
	if err := m.storage.PackRefs(); err != nil {
		m.log.Warn("pack the mirror's refs; polls read them one by one", "err", err)
		return
	}
	m.looseRefs = 0
	removeEmptyDirs(filepath.Join(m.opts.Dir, "refs"))
}

// removeEmptyDirs removes the empty directories below dir (never dir itself), deepest first.
func removeEmptyDirs(dir string) {
	var dirs []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && p != dir {
			dirs = append(dirs, p)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		_ = os.Remove(dirs[i]) // fails, and stays, when it is not empty
	}
}

// listRemote returns the remote's branch and pull heads. Callers hold m.mu.
func (m *Mirror) listRemote(ctx context.Context, auth transport.AuthMethod) (map[plumbing.ReferenceName]plumbing.Hash, error) {
	refs, err := m.remote.ListContext(ctx, &gogit.ListOptions{Auth: auth, PeelingOption: gogit.IgnorePeeled})
	if errors.Is(err, transport.ErrEmptyRemoteRepository) {
		return map[plumbing.ReferenceName]plumbing.Hash{}, nil
	}
	if err != nil {
		return nil, remoteError(ctx, fmt.Errorf("list remote refs: %w", err))
	}
	out := make(map[plumbing.ReferenceName]plumbing.Hash, len(refs))
	for _, ref := range refs {
		if ref.Type() == plumbing.HashReference && m.kept(ref.Name()) {
			out[ref.Name()] = ref.Hash()
		}
	}
	return out, nil
}

// localRefs returns the mirror's branch and pull heads. Callers hold m.mu.
func (m *Mirror) localRefs() (map[plumbing.ReferenceName]plumbing.Hash, error) {
	iter, err := m.storage.IterReferences()
	if err != nil {
		return nil, fmt.Errorf("list local refs: %w", err)
	}
	out := map[plumbing.ReferenceName]plumbing.Hash{}
	err = iter.ForEach(func(ref *plumbing.Reference) error {
		if ref.Type() == plumbing.HashReference && m.kept(ref.Name()) {
			out[ref.Name()] = ref.Hash()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list local refs: %w", err)
	}
	return out, nil
}

// kept reports whether the mirror follows a ref: refs/heads/* and <pull refs>/<n>/head.
func (m *Mirror) kept(name plumbing.ReferenceName) bool {
	if name.IsBranch() {
		return true
	}
	_, ok := pullNumber(m.opts.PullRefs, name)
	return ok
}

// pullNumber is the pull request whose head name is, under pullRefs ("refs/pull").
func pullNumber(pullRefs string, name plumbing.ReferenceName) (int, bool) {
	rest, ok := strings.CutPrefix(name.String(), pullRefs+"/")
	if !ok {
		return 0, false
	}
	num, ok := strings.CutSuffix(rest, "/head")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(num)
	return n, err == nil && n > 0
}

func (m *Mirror) headsOf(refs map[plumbing.ReferenceName]plumbing.Hash) reconciler.Heads {
	heads := reconciler.Heads{Branches: map[string]reconciler.Revision{}, Pulls: map[int]reconciler.Revision{}}
	for name, h := range refs {
		if name.IsBranch() {
			heads.Branches[name.Short()] = reconciler.Revision(h.String())
		} else if n, ok := pullNumber(m.opts.PullRefs, name); ok {
			heads.Pulls[n] = reconciler.Revision(h.String())
		}
	}
	return heads
}

// hasCommit reports whether the mirror holds commit h. Callers hold m.mu.
func (m *Mirror) hasCommit(h plumbing.Hash) bool {
	return m.storage.HasEncodedObject(h) == nil
}

// fetch brings branches and pull heads, full depth, no tags. Callers hold m.mu.
func (m *Mirror) fetch(ctx context.Context, auth transport.AuthMethod) error {
	start := time.Now()
	m.fetches++
	err := m.remote.FetchContext(ctx, &gogit.FetchOptions{
		RefSpecs: fetchSpecs(m.opts.PullRefs),
		Tags:     gogit.NoTags,
		Auth:     auth,
		Force:    true,
	})
	if err != nil && !errors.Is(err, gogit.NoErrAlreadyUpToDate) {
		return remoteError(ctx, fmt.Errorf("fetch: %w", err))
	}
	m.log.Debug("fetched", "duration", time.Since(start))
	return nil
}

// remoteError classifies a failed conversation with the remote: KindCanceled when ctx ended (trueup is
// stopping), KindTransient otherwise (network, server, credentials that may be fixed or refreshed).
func remoteError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return reconciler.Errorf(reconciler.KindCanceled, "poll", err)
	}
	return reconciler.Errorf(reconciler.KindTransient, "poll", err)
}
