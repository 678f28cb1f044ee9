// Package gittest builds real git repositories for tests: a bare "remote" that trueup polls,
// and a working clone through which a test commits, branches, merges and pushes, the way
// people and GitHub change an infrastructure repository. It drives the git CLI with a private,
// empty configuration, so it behaves the same on a fresh machine and on a developer's laptop.
package gittest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/trueup/trueup/reconciler"
)

// Remote is a bare repository (what trueup follows) plus a working clone of it.
// Its methods fail the test on any git error. A Remote is not safe for concurrent use.
type Remote struct {
	t    testing.TB
	bare string
	work string
	env  []string
}

// NewRemote creates an empty bare repository with default branch main, and a working clone
// of it on main, both under t.TempDir().
func NewRemote(t testing.TB) *Remote {
	t.Helper()
	root := t.TempDir()
	home := filepath.Join(root, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatalf("gittest: %v", err)
	}
	r := &Remote{
		t:    t,
		bare: filepath.Join(root, "remote.git"),
		work: filepath.Join(root, "work"),
		env: append(os.Environ(),
			"HOME="+home,
			"XDG_CONFIG_HOME="+home,
			"GIT_CONFIG_NOSYSTEM=1",
			"GIT_CONFIG_GLOBAL="+os.DevNull,
			"GIT_AUTHOR_NAME=trueup test", "GIT_AUTHOR_EMAIL=test@trueup.invalid",
			"GIT_COMMITTER_NAME=trueup test", "GIT_COMMITTER_EMAIL=test@trueup.invalid",
			"GIT_TERMINAL_PROMPT=0",
		),
	}
	r.gitIn(root, "init", "--quiet", "--bare", "--initial-branch=main", r.bare)
	r.gitIn(root, "init", "--quiet", "--initial-branch=main", r.work)
	r.Git("remote", "add", "origin", r.bare)
	return r
}

// URL is the bare repository's path, usable as a clone URL.
func (r *Remote) URL() string { return r.bare }

// Dir is the working clone's path.
func (r *Remote) Dir() string { return r.work }

// WriteFiles writes files (slash-separated path → content) in the working clone, creating
// directories as needed. A content starting with "symlink:" makes a symbolic link to the rest.
func (r *Remote) WriteFiles(files map[string]string) {
	r.t.Helper()
	for name, content := range files {
		p := filepath.Join(r.work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatalf("gittest: %v", err)
		}
		_ = os.Remove(p)
		var err error
		if target, ok := strings.CutPrefix(content, "symlink:"); ok {
			err = os.Symlink(target, p)
		} else {
			err = os.WriteFile(p, []byte(content), 0o644)
		}
		if err != nil {
			r.t.Fatalf("gittest: %v", err)
		}
	}
}

// Chmod changes a file's mode in the working clone (0o755 makes it executable in git).
func (r *Remote) Chmod(name string, mode os.FileMode) {
	r.t.Helper()
	if err := os.Chmod(filepath.Join(r.work, filepath.FromSlash(name)), mode); err != nil {
		r.t.Fatalf("gittest: %v", err)
	}
}

// Remove deletes paths (files or whole directories) from the working clone.
func (r *Remote) Remove(paths ...string) {
	r.t.Helper()
	for _, name := range paths {
		if err := os.RemoveAll(filepath.Join(r.work, filepath.FromSlash(name))); err != nil {
			r.t.Fatalf("gittest: %v", err)
		}
	}
}

// Move renames a file in the working clone.
func (r *Remote) Move(from, to string) {
	r.t.Helper()
	dst := filepath.Join(r.work, filepath.FromSlash(to))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		r.t.Fatalf("gittest: %v", err)
	}
	if err := os.Rename(filepath.Join(r.work, filepath.FromSlash(from)), dst); err != nil {
		r.t.Fatalf("gittest: %v", err)
	}
}

// Commit stages everything in the working clone and commits it (even when nothing changed),
// returning the new commit.
func (r *Remote) Commit(msg string) reconciler.Revision {
	r.t.Helper()
	r.Git("add", "--all")
	r.Git("commit", "--quiet", "--allow-empty", "--no-verify", "-m", msg)
	return r.Rev("HEAD")
}

// Push pushes the working clone's branch to the bare repository (forced, so a test may rewrite history).
func (r *Remote) Push(branch string) {
	r.t.Helper()
	r.Git("push", "--quiet", "--force", "origin", branch+":refs/heads/"+branch)
}

// CommitAndPush writes files, commits them on main and pushes main. It switches to main first.
func (r *Remote) CommitAndPush(msg string, files map[string]string) reconciler.Revision {
	r.t.Helper()
	if r.current() != "main" && r.hasBranch("main") {
		r.Checkout("main")
	}
	r.WriteFiles(files)
	rev := r.Commit(msg)
	r.Push("main")
	return rev
}

// Branch creates a branch at the working clone's HEAD and switches to it.
func (r *Remote) Branch(name string) {
	r.t.Helper()
	r.Git("checkout", "--quiet", "-b", name)
}

// Checkout switches the working clone to an existing branch.
func (r *Remote) Checkout(name string) {
	r.t.Helper()
	r.Git("checkout", "--quiet", name)
}

// DeleteBranch deletes a branch from the bare repository (the working clone keeps its own).
func (r *Remote) DeleteBranch(name string) {
	r.t.Helper()
	r.Git("push", "--quiet", "origin", "--delete", name)
}

// SetPullRef points refs/pull/N/head in the bare repository at rev, as GitHub keeps the head
// of pull request N. rev must have been pushed (or be pushed by this call: the working clone's
// objects are pushed along).
func (r *Remote) SetPullRef(n int, rev reconciler.Revision) {
	r.t.Helper()
	r.Git("push", "--quiet", "--force", "origin", string(rev)+":refs/pull/"+strconv.Itoa(n)+"/head")
}

// SetMergeRequestRef points refs/merge-requests/N/head in the bare repository at rev, as GitLab
// keeps the head of merge request !N (for forks too).
func (r *Remote) SetMergeRequestRef(n int, rev reconciler.Revision) {
	r.t.Helper()
	r.Git("push", "--quiet", "--force", "origin", string(rev)+":refs/merge-requests/"+strconv.Itoa(n)+"/head")
}

// DeletePullRef removes refs/pull/N/head from the bare repository.
func (r *Remote) DeletePullRef(n int) {
	r.t.Helper()
	r.gitIn(r.bare, "update-ref", "-d", "refs/pull/"+strconv.Itoa(n)+"/head")
}

// Merge merges branch into main with a merge commit (--no-ff), pushes main and returns the merge commit.
// The working clone is left on main.
func (r *Remote) Merge(branch, msg string) reconciler.Revision {
	r.t.Helper()
	r.Checkout("main")
	r.Git("merge", "--quiet", "--no-ff", "--no-edit", "-m", msg, branch)
	rev := r.Rev("HEAD")
	r.Push("main")
	return rev
}

// Rev resolves a revision expression ("HEAD", "main~1", a branch) in the working clone.
func (r *Remote) Rev(expr string) reconciler.Revision {
	r.t.Helper()
	return reconciler.Revision(r.Git("rev-parse", "--verify", expr+"^{commit}"))
}

// RemoteRefs lists the bare repository's refs (name → commit), for assertions.
func (r *Remote) RemoteRefs() map[string]reconciler.Revision {
	r.t.Helper()
	out := r.gitIn(r.bare, "for-each-ref", "--format=%(refname) %(objectname)")
	refs := map[string]reconciler.Revision{}
	for _, line := range strings.Split(out, "\n") {
		if name, hash, ok := strings.Cut(line, " "); ok {
			refs[name] = reconciler.Revision(hash)
		}
	}
	return refs
}

// Files lists the files tracked at rev, sorted, for assertions.
func (r *Remote) Files(rev reconciler.Revision) []string {
	r.t.Helper()
	out := r.Git("ls-tree", "-r", "--name-only", string(rev))
	if out == "" {
		return nil
	}
	files := strings.Split(out, "\n")
	sort.Strings(files)
	return files
}

// Git runs git in the working clone and returns its trimmed standard output.
func (r *Remote) Git(args ...string) string {
	r.t.Helper()
	return r.gitIn(r.work, args...)
}

func (r *Remote) current() string {
	return r.Git("symbolic-ref", "--quiet", "--short", "HEAD")
}

func (r *Remote) hasBranch(name string) bool {
	cmd := r.command(r.work, "rev-parse", "--verify", "--quiet", "refs/heads/"+name)
	return cmd.Run() == nil
}

func (r *Remote) gitIn(dir string, args ...string) string {
	r.t.Helper()
	cmd := r.command(dir, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		r.t.Fatalf("gittest: git %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(stdout.String())
}

func (r *Remote) command(dir string, args ...string) *exec.Cmd {
	full := append([]string{"-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", "-c", "core.autocrlf=false",
		"-c", "init.defaultBranch=main", "-c", "advice.detachedHead=false"}, args...)
	cmd := exec.Command("git", full...)
	cmd.Dir = dir
	cmd.Env = r.env
	return cmd
}
