package terraform

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// SandboxMode is the terraform.sandbox setting.
type SandboxMode string

// Sandbox modes.
const (
	SandboxAuto     SandboxMode = "auto"     // use bubblewrap when the probe shows it works
	SandboxRequired SandboxMode = "required" // refuse to start without it
	SandboxOff      SandboxMode = "off"      // never (an explicit opt-out)
)

// Sandbox runs untrusted Terraform (branch and pull request plans) under bubblewrap: new PID,
// IPC, UTS and cgroup namespaces, no capabilities, dying with trueup, and a filesystem that
// holds only the system directories, Terraform and its providers (read-only) and the run's own
// checkout, TF data dir, HOME and TMPDIR (read-write). The network is shared: plans must reach
// cloud APIs.
type Sandbox struct {
	bwrap string
}

// probeTimeout bounds the start-up probe.
const probeTimeout = 10 * time.Second

// baseArgs are bubblewrap's options for every sandboxed call, before the filesystem.
var baseArgs = []string{
	"--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
	"--die-with-parent", "--new-session", "--cap-drop", "ALL",
	"--hostname", "trueup-sandbox",
	"--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
}

// ProbeSandbox finds bubblewrap and checks that it can make the namespaces trueup uses, by running
// /bin/true (or `true` on PATH) in a sandbox like a real run's. It returns nil and why when
// bubblewrap cannot be used; the reason names the missing piece.
func ProbeSandbox(ctx context.Context, bwrap string) (*Sandbox, error) {
	if bwrap == "" {
		bwrap = "bwrap"
	}
	path, err := exec.LookPath(bwrap)
	if err != nil {
		return nil, fmt.Errorf("bubblewrap (%s) is not installed: install the bubblewrap package (apt-get install bubblewrap, apk add bubblewrap, dnf install bubblewrap)", bwrap)
	}
	truePath, err := exec.LookPath("true")
	if err != nil {
		return nil, fmt.Errorf("sandbox probe: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	args := append(slices.Clone(baseArgs), systemBinds()...)
	args = append(args, "--ro-bind", filepath.Dir(truePath), filepath.Dir(truePath), "--", truePath)
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = []string{"PATH=" + defaultPath}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("bubblewrap (%s) cannot create its sandbox here: %s (it needs user namespaces or root; in a container, allow unprivileged user namespaces or run trueup with CAP_SYS_ADMIN)", path, msg)
	}
	return &Sandbox{bwrap: path}, nil
}

// Path is the bubblewrap binary.
func (s *Sandbox) Path() string { return s.bwrap }

// systemDirs are bound read-only when they exist: programs and libraries.
var systemDirs = []string{"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}

// systemEtc are the files and directories of /etc a Terraform run needs: name resolution, users,
// time zones and certificates. The rest of /etc (shadow, the daemon's configuration) stays out.
var systemEtc = []string{
	"/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf", "/etc/host.conf", "/etc/gai.conf",
	"/etc/passwd", "/etc/group", "/etc/localtime", "/etc/mime.types",
	"/etc/ssl", "/etc/ca-certificates", "/etc/pki", "/etc/crypto-policies", "/etc/alternatives",
	"/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
}

// hiddenSystemDirs are covered with an empty tmpfs when they exist: configuration that may hold
// secrets under a directory the sandbox otherwise shows.
var hiddenSystemDirs = []string{"/usr/local/etc"}

func systemBinds() []string {
	var args []string
	for _, d := range append(slices.Clone(systemDirs), systemEtc...) {
		args = append(args, "--ro-bind-try", d, d)
	}
	for _, d := range hiddenSystemDirs {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			args = append(args, "--tmpfs", d)
		}
	}
	return args
}

// Shows reports whether the sandbox's system view includes path (for start-up checks that no
// secret file lies where branch code can read it).
func (s *Sandbox) Shows(path string) bool {
	path = filepath.Clean(path)
	for _, d := range hiddenSystemDirs {
		if within(path, d) {
			return false
		}
	}
	for _, d := range append(slices.Clone(systemDirs), systemEtc...) {
		if within(path, d) {
			return true
		}
	}
	return false
}

// within reports whether path is dir or inside it.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// sandboxPaths are what one sandboxed run may see besides the system.
type sandboxPaths struct {
	readOnly  []string // Terraform's directory, the CLI config, provider mirrors, the plugin cache, CA files
	readWrite []string // the run's checkout, TF data dir (with HOME, TMPDIR and its state copy)
	private   []string // never shown, nor any directory holding one (Options.Private)
	// mounts are read-write binds of a host directory (from) at another path (to), after the
	// others, when from exists: the run's state copy shown where the stack's real state lives.
	mounts []mount
}

// mount shows the host directory from at the path to inside the sandbox.
type mount struct{ from, to string }

// args is bubblewrap's command line for one run, up to and including "--". A read-only path that
// is, or contains, one of p.private is never shown.
func (s *Sandbox) args(p sandboxPaths) []string {
	args := append(slices.Clone(baseArgs), systemBinds()...)
	for _, d := range dedupe(p.readOnly) {
		if slices.ContainsFunc(p.private, func(private string) bool { return private != "" && within(private, d) }) {
			continue
		}
		args = append(args, "--ro-bind-try", d, d)
	}
	for _, d := range dedupe(p.readWrite) {
		args = append(args, "--bind", d, d)
	}
	for _, m := range p.mounts {
		args = append(args, "--bind-try", filepath.Clean(m.from), filepath.Clean(m.to))
	}
	return append(args, "--")
}

func dedupe(paths []string) []string {
	var out []string
	for _, p := range paths {
		if p == "" {
			continue
		}
		p = filepath.Clean(p)
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// writeWrapper writes an executable script at path that runs Terraform (binary) in the sandbox
// with its arguments, from the current directory. terraform-exec runs it in place of Terraform.
// The script must live where the sandboxed code cannot write: the next call runs it outside.
func (s *Sandbox) writeWrapper(path, binary string, p sandboxPaths) error {
	var b strings.Builder
	b.WriteString("#!/bin/sh\n# Written by trueup: runs Terraform for untrusted code under bubblewrap.\nexec ")
	b.WriteString(shellQuote(s.bwrap))
	for _, a := range s.args(p) {
		if a == "--" {
			b.WriteString(` --chdir "$PWD"`)
		}
		b.WriteString(" ")
		b.WriteString(shellQuote(a))
	}
	b.WriteString(" ")
	b.WriteString(shellQuote(binary))
	b.WriteString(" \"$@\"\n")
	return os.WriteFile(path, []byte(b.String()), 0o700)
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// cliConfigPaths are the paths a Terraform CLI configuration names that init and plan read:
// filesystem mirrors, dev overrides and a plugin cache.
var cliConfigPaths = regexp.MustCompile(`(?m)^\s*(?:path|plugin_cache_dir|"?[\w./-]+"?)\s*=\s*"(/[^"]+)"`)

// cliConfigReadPaths returns the absolute paths named in the CLI configuration file.
func cliConfigReadPaths(file string) []string {
	if file == "" {
		return nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil
	}
	var out []string
	for _, m := range cliConfigPaths.FindAllStringSubmatch(string(data), -1) {
		out = append(out, m[1])
	}
	return out
}
