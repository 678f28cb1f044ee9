package git

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
)

// maintainPacks repacks the mirror into one pack file when fetches have left more than
// m.repackAbove of them: every object lookup searches every pack index, so polls, tree reads and
// checkouts slow down and memory grows with the count. It then reopens go-git's storage, which
// otherwise keeps indexes of deleted packs and descriptors of their files.
//
// Every object is kept, unreachable ones too: a commit the mirror once fetched (a head since
// force-pushed away, a deleted branch) stays readable, as callers may still ask for it.
// A failed repack is logged as a warning, never returned: the mirror stays correct, only slower.
// Callers hold m.mu.
func (m *Mirror) maintainPacks(ctx context.Context) {
	before, err := countPacks(m.opts.Dir)
	if err != nil {
		m.log.Warn("count mirror pack files", "err", err)
		return
	}
	if before <= m.repackAbove {
		return
	}
	start := time.Now()
	m.repacks++
	tool, err := m.repack(ctx)
	// Reopen whatever happened: a repack that failed late may still have replaced packs.
	if rerr := m.reopen(); rerr != nil {
		err = errors.Join(err, rerr)
	}
	if err != nil {
		if ctx.Err() != nil {
			m.log.Debug("repack interrupted", "err", err)
			return
		}
		m.log.Warn("repack mirror failed; it keeps working with more pack files", "packs", before, "err", err)
		return
	}
	after, err := countPacks(m.opts.Dir)
	if err != nil {
		m.log.Warn("count mirror pack files", "err", err)
	}
	m.log.Info("repacked mirror", "with", tool, "packs_before", before, "packs_after", after, "duration", time.Since(start))
}

// countPacks returns how many pack files the bare repository in dir holds.
func countPacks(dir string) (int, error) {
	packs, err := filepath.Glob(filepath.Join(dir, "objects", "pack", "pack-*.pack"))
	return len(packs), err
}

// repack packs every object of the mirror into one pack, with the git CLI when there is one (it is
// much faster and lighter than go-git's encoder) and with go-git otherwise or when git fails.
// It returns which tool did the work. Callers hold m.mu.
func (m *Mirror) repack(ctx context.Context) (string, error) {
	if m.gitPath != "" {
		err := m.repackWithGit(ctx)
		if err == nil || ctx.Err() != nil {
			return "git", err
		}
		// git may refuse the directory (owned by another user) or be broken; go-git still works.
		m.log.Warn("git repack failed; repacking with go-git", "err", err)
	}
	return "go-git", m.repackWithGoGit()
}

// gitLocationEnv are environment variables that would point git at another repository or object
// store than the mirror's.
var gitLocationEnv = []string{"GIT_DIR=", "GIT_WORK_TREE=", "GIT_OBJECT_DIRECTORY=", "GIT_ALTERNATE_OBJECT_DIRECTORIES=",
	"GIT_INDEX_FILE=", "GIT_COMMON_DIR=", "GIT_NAMESPACE=", "GIT_CEILING_DIRECTORIES="}

// repackWithGit runs `git repack -a -d -k`: everything in one new pack, unreachable objects
// included (-k), then the old packs and the loose objects now packed are deleted (-d runs
// prune-packed). Bitmaps are not written: go-git does not read them. Callers hold m.mu.
func (m *Mirror) repackWithGit(ctx context.Context) error {
	cmd := exec.CommandContext(ctx, m.gitPath, "--git-dir="+m.opts.Dir, "-c", "repack.writeBitmaps=false",
		"repack", "-a", "-d", "-k", "-q")
	for _, kv := range os.Environ() {
		if !hasAnyPrefix(kv, gitLocationEnv) {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 500 {
			msg = msg[:500] + "…"
		}
		if msg != "" {
			return fmt.Errorf("git repack: %w: %s", err, msg)
		}
		return fmt.Errorf("git repack: %w", err)
	}
	return nil
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// repackWithGoGit does what repackWithGit does with go-git. It does not use
// (*Repository).RepackObjects, which packs only objects reachable from refs and so would drop
// commits the mirror once fetched. go-git's encoder holds the objects it deltifies in memory:
// slower and heavier than git, acceptable for a fallback. Callers hold m.mu.
func (m *Mirror) repackWithGoGit() error {
	packs, err := m.storage.ObjectPacks()
	if err != nil {
		return fmt.Errorf("go-git repack: list packs: %w", err)
	}
	// Every object, loose or packed, each once: index entries and loose file names, no object read.
	objects, err := m.storage.HashesWithPrefix(nil)
	if err != nil {
		return fmt.Errorf("go-git repack: list objects: %w", err)
	}
	cfg, err := m.repo.Config()
	if err != nil {
		return fmt.Errorf("go-git repack: %w", err)
	}
	w, err := m.storage.PackfileWriter()
	if err != nil {
		return fmt.Errorf("go-git repack: %w", err)
	}
	packHash, err := packfile.NewEncoder(w, m.storage, false).Encode(objects, cfg.Pack.Window)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("go-git repack: write pack: %w", err)
	}
	// The new pack is complete and indexed: only now may the objects' other copies go.
	for _, h := range packs {
		if h == packHash {
			continue
		}
		if err := m.storage.DeleteOldObjectPackAndIndex(h, time.Time{}); err != nil {
			return fmt.Errorf("go-git repack: delete pack %s: %w", h, err)
		}
	}
	packed := make(map[plumbing.Hash]bool, len(objects))
	for _, h := range objects {
		packed[h] = true
	}
	err = m.storage.ForEachObjectHash(func(h plumbing.Hash) error {
		if !packed[h] {
			return nil
		}
		return m.storage.DeleteLooseObject(h)
	})
	if err != nil {
		return fmt.Errorf("go-git repack: delete loose objects: %w", err)
	}
	return nil
}

// reopen replaces go-git's storage, repository and remote with fresh ones over the same directory,
// and closes the old storage's files: its pack index and open descriptors name packs a repack
// deleted. Decoded objects cached by the old storage are dropped with it. Callers hold m.mu.
func (m *Mirror) reopen() error {
	storage := newStorage(m.opts.Dir)
	repo, err := gogit.Open(storage, nil)
	if err != nil {
		_ = storage.Close()
		// Keep the old storage, but make it read the pack list again.
		m.storage.Reindex()
		return fmt.Errorf("reopen mirror %s: %w", m.opts.Dir, err)
	}
	old := m.storage
	m.storage, m.repo = storage, repo
	m.remote = gogit.NewRemote(storage, m.remote.Config())
	if err := old.Close(); err != nil {
		m.log.Debug("close replaced mirror storage", "err", err)
	}
	return nil
}
