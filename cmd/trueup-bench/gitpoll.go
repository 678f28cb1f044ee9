package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/trueup/trueup/git"
)

const (
	pollCommits = 5000
	pollFiles   = 2000
)

// benchGitPoll measures polling a repository of 5,000 commits over 2,000 files twice: from outside,
// through the daemon's trueup_git_poll_duration_seconds histogram and its "fetched" debug lines
// (poll interval 100ms), and in-process by timing git.Mirror.Poll, whose medians are reported.
func benchGitPoll(ctx context.Context, e *env, reps int, res *Results) error {
	dir, err := e.dir("gitpoll")
	if err != nil {
		return err
	}
	repo, err := newGitRepo(dir)
	if err != nil {
		return err
	}
	t0 := time.Now()
	if err := repo.fastImport(historyStream(pollCommits, pollFiles)); err != nil {
		return err
	}
	e.logf("  %d commits over %d files generated in %s", pollCommits, pollFiles, time.Since(t0).Round(100*time.Millisecond))
	outside, err := pollFromOutside(ctx, e, repo, reps)
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	inside, err := pollInProcess(ctx, repo, filepath.Join(dir, "inprocess-mirror.git"), reps)
	if err != nil {
		return fmt.Errorf("in-process: %w", err)
	}
	res.GitPoll = GitPoll{Commits: pollCommits, Files: pollFiles, NoopPollMS: inside.noopMedian, OneCommitFetchMS: inside.fetchMedian}
	res.note("git_poll", map[string]any{
		"in_process": inside.notes, "daemon": outside,
		"how": "contract numbers: git.Mirror.Poll timed in-process (median); the daemon's numbers come from its " +
			"poll histogram (deltas between scrapes) and its debug \"fetched\" lines",
	})
	e.logf("  in-process: no-op poll median %.1f ms, one-commit poll median %.1f ms", inside.noopMedian, inside.fetchMedian)
	return nil
}

// historyStream is a git fast-import stream: the first commit adds files (50 per directory), each
// later one changes one of them.
func historyStream(commits, files int) *bytes.Buffer {
	var s bytes.Buffer
	name := func(i int) string { return fmt.Sprintf("docs/d%03d/f%04d.md", i/50, i) }
	data := func(content string) { fmt.Fprintf(&s, "data %d\n%s\n", len(content), content) }
	for c := range commits {
		fmt.Fprintf(&s, "commit refs/heads/main\nmark :%d\n", c+1)
		fmt.Fprintf(&s, "committer trueup bench <bench@trueup.invalid> %d +0000\n", 1700000000+c)
		data(fmt.Sprintf("generated commit %d", c))
		if c > 0 {
			fmt.Fprintf(&s, "from :%d\n", c)
			i := (c * 7919) % files
			fmt.Fprintf(&s, "M 100644 inline %s\n", name(i))
			data(fmt.Sprintf("# file %d\nrevision %d\n", i, c))
		} else {
			for i := range files {
				fmt.Fprintf(&s, "M 100644 inline %s\n", name(i))
				data(fmt.Sprintf("# file %d\nrevision 0\n", i))
			}
		}
		s.WriteString("\n")
	}
	return &s
}

type inProcessPoll struct {
	noopMedian, fetchMedian float64
	notes                   map[string]any
}

// pollInProcess clones into a fresh mirror, then times no-op polls and polls that fetch one new commit.
func pollInProcess(ctx context.Context, repo *gitRepo, mirrorDir string, reps int) (inProcessPoll, error) {
	m, err := git.Open(ctx, git.Options{URL: repo.URL(), Dir: mirrorDir, Branch: "main"})
	if err != nil {
		return inProcessPoll{}, err
	}
	defer m.Close()
	start := time.Now()
	if _, err := m.Poll(ctx); err != nil {
		return inProcessPoll{}, err
	}
	clone := time.Since(start)
	before, err := countObjectFiles(mirrorDir)
	if err != nil {
		return inProcessPoll{}, err
	}
	var noop []float64
	for range 50 {
		start := time.Now()
		if _, err := m.Poll(ctx); err != nil {
			return inProcessPoll{}, err
		}
		noop = append(noop, ms(time.Since(start)))
	}
	after, err := countObjectFiles(mirrorDir)
	if err != nil {
		return inProcessPoll{}, err
	}
	var fetch []float64
	for i := range max(reps, 5) {
		rev, err := repo.commitAndPush(fmt.Sprintf("in-process poll %d", i), map[string]string{"docs/d000/f0000.md": fmt.Sprintf("in-process %d\n", i)})
		if err != nil {
			return inProcessPoll{}, err
		}
		start := time.Now()
		heads, err := m.Poll(ctx)
		if err != nil {
			return inProcessPoll{}, err
		}
		fetch = append(fetch, ms(time.Since(start)))
		if string(heads.Branches["main"]) != rev {
			return inProcessPoll{}, fmt.Errorf("poll after a push: main is %.7s, want %.7s", heads.Branches["main"], rev)
		}
	}
	return inProcessPoll{
		noopMedian: median(noop), fetchMedian: median(fetch),
		notes: map[string]any{
			"initial_clone_ms": ms(clone), "noop_polls": len(noop), "noop_ms_median": median(noop),
			"noop_ms_max": maxOf(noop), "object_files_before_noop_polls": before, "object_files_after_noop_polls": after,
			"one_commit_ms_samples": fetch,
		},
	}, nil
}

// countObjectFiles counts the files under a bare repository's objects directory (packs and loose
// objects): a poll that fetches nothing leaves it unchanged.
func countObjectFiles(gitDir string) (int, error) {
	n := 0
	err := filepath.WalkDir(filepath.Join(gitDir, "objects"), func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return err
	})
	return n, err
}

func maxOf(xs []float64) float64 {
	m := 0.0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}
