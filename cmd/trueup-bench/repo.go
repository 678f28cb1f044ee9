package main

import (
	"bytes"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// gitRepo is a bare repository (what trueup follows, like GitHub) and a working clone that pushes to it.
type gitRepo struct {
	bare string
	work string
}

// newGitRepo creates dir/remote.git and a clone of it in dir/work.
func newGitRepo(dir string) (*gitRepo, error) {
	r := &gitRepo{bare: filepath.Join(dir, "remote.git"), work: filepath.Join(dir, "work")}
	if _, err := runGit(dir, nil, "init", "--quiet", "--bare", "--initial-branch=main", r.bare); err != nil {
		return nil, err
	}
	if _, err := runGit(dir, nil, "init", "--quiet", "--initial-branch=main", r.work); err != nil {
		return nil, err
	}
	if _, err := r.git("remote", "add", "origin", r.bare); err != nil {
		return nil, err
	}
	return r, nil
}

// URL is what trueup's repo.url points at.
func (r *gitRepo) URL() string { return r.bare }

func (r *gitRepo) git(args ...string) (string, error) { return runGit(r.work, nil, args...) }

// write writes files (path relative to the clone → content).
func (r *gitRepo) write(files map[string]string) error {
	for name, content := range files {
		p := filepath.Join(r.work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// commit writes files, commits them on the current branch and returns the commit.
func (r *gitRepo) commit(msg string, files map[string]string) (string, error) {
	if err := r.write(files); err != nil {
		return "", fmt.Errorf("commit %q: %w", msg, err)
	}
	if _, err := r.git("add", "-A"); err != nil {
		return "", err
	}
	if _, err := r.git("commit", "--quiet", "--allow-empty", "-m", msg); err != nil {
		return "", err
	}
	return r.rev("HEAD")
}

// commitAndPush commits files on main and pushes main.
func (r *gitRepo) commitAndPush(msg string, files map[string]string) (string, error) {
	rev, err := r.commit(msg, files)
	if err != nil {
		return "", err
	}
	if _, err := r.git("push", "--quiet", "origin", "main"); err != nil {
		return "", err
	}
	return rev, nil
}

// pullRequest commits files on a new branch from main, pushes it, sets refs/pull/n/head in the bare
// repository as GitHub does, and returns to main. It returns the head commit.
func (r *gitRepo) pullRequest(n int, branch string, files map[string]string) (string, error) {
	if _, err := r.git("checkout", "--quiet", "-b", branch, "main"); err != nil {
		return "", err
	}
	rev, err := r.commit("change for #"+fmt.Sprint(n), files)
	if err == nil {
		_, err = r.git("push", "--quiet", "origin", branch)
	}
	if err == nil {
		_, err = runGit(r.bare, nil, "update-ref", fmt.Sprintf("refs/pull/%d/head", n), rev)
	}
	if _, cerr := r.git("checkout", "--quiet", "main"); err == nil {
		err = cerr
	}
	return rev, err
}

// pullRequests makes one branch per change from main in a single git fast-import, pushes them in
// one push, and sets refs/pull/N/head in the bare repository as GitHub does. It returns each pull
// request's head commit by number. Many pull requests cost a few git processes, not a few each.
func (r *gitRepo) pullRequests(changes []prChange) (map[int]string, error) {
	base, err := r.rev("main")
	if err != nil {
		return nil, err
	}
	var s bytes.Buffer
	data := func(content string) { fmt.Fprintf(&s, "data %d\n%s\n", len(content), content) }
	for _, c := range changes {
		fmt.Fprintf(&s, "commit refs/heads/%s\ncommitter trueup bench <bench@trueup.invalid> %d +0000\n", c.Branch, time.Now().Unix())
		data(fmt.Sprintf("change for #%d", c.Number))
		fmt.Fprintf(&s, "from %s\n", base)
		for _, name := range slices.Sorted(maps.Keys(c.Files)) {
			fmt.Fprintf(&s, "M 100644 inline %s\n", name)
			data(c.Files[name])
		}
	}
	if _, err := runGit(r.work, &s, "fast-import", "--quiet"); err != nil {
		return nil, err
	}
	if _, err := r.git("push", "--quiet", "origin", "refs/heads/*:refs/heads/*"); err != nil {
		return nil, err
	}
	out, err := r.git("for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads/")
	if err != nil {
		return nil, err
	}
	revs := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if branch, rev, ok := strings.Cut(line, " "); ok {
			revs[branch] = rev
		}
	}
	heads := map[int]string{}
	var refs strings.Builder
	for _, c := range changes {
		rev, ok := revs[c.Branch]
		if !ok {
			return nil, fmt.Errorf("pull request #%d: branch %s was not made", c.Number, c.Branch)
		}
		heads[c.Number] = rev
		fmt.Fprintf(&refs, "update refs/pull/%d/head %s\n", c.Number, rev)
	}
	_, err = runGit(r.bare, strings.NewReader(refs.String()), "update-ref", "--stdin")
	return heads, err
}

// prChange is one pull request for pullRequests: its branch and the files it changes.
type prChange struct {
	Number int
	Branch string
	Files  map[string]string
}

func (r *gitRepo) rev(expr string) (string, error) {
	out, err := r.git("rev-parse", expr)
	return strings.TrimSpace(out), err
}

// fastImport feeds a git fast-import stream to the clone and pushes main.
func (r *gitRepo) fastImport(stream io.Reader) error {
	// glibc's malloc trims and regrows the heap with brk for every commit; on some VMs each brk costs
	// ~150µs, which makes 5,000 commits take 30s instead of under one. A large trim threshold avoids it.
	malloc := []string{"MALLOC_TOP_PAD_=268435456", "MALLOC_TRIM_THRESHOLD_=268435456"}
	if _, err := runGitEnv(r.work, stream, malloc, "fast-import", "--quiet"); err != nil {
		return err
	}
	if _, err := r.git("reset", "--quiet", "--hard", "main"); err != nil {
		return err
	}
	_, err := r.git("push", "--quiet", "origin", "main")
	return err
}

// runGit runs git in dir with a fixed identity and no user or system configuration.
func runGit(dir string, stdin io.Reader, args ...string) (string, error) {
	return runGitEnv(dir, stdin, nil, args...)
}

func runGitEnv(dir string, stdin io.Reader, env []string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Stdin = stdin
	cmd.Env = append(append(os.Environ(), env...),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=trueup bench", "GIT_AUTHOR_EMAIL=bench@trueup.invalid",
		"GIT_COMMITTER_NAME=trueup bench", "GIT_COMMITTER_EMAIL=bench@trueup.invalid",
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}
