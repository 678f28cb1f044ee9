package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// env is what every scenario needs: the tools, a scratch directory, and a log of progress.
type env struct {
	root      string // the module root
	trueup    string // bin/trueup
	terraform string // .tools/bin/terraform
	tfrc      string // .tools/terraformrc
	scratch   string
	keep      bool
	machine   Machine
	started   time.Time
	lockFile  string // .terraform.lock.hcl for the hashicorp/local provider
}

func newEnv(root string, keep bool) (*env, error) {
	e := &env{
		root:      root,
		trueup:    filepath.Join(root, "bin", "trueup"),
		terraform: filepath.Join(root, ".tools", "bin", "terraform"),
		tfrc:      filepath.Join(root, ".tools", "terraformrc"),
		keep:      keep,
		started:   time.Now(),
	}
	for _, p := range []string{e.trueup, e.terraform, e.tfrc} {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%s is missing: run `make tools build` (or `make bench`)", p)
		}
	}
	if _, err := exec.LookPath("git"); err != nil {
		return nil, fmt.Errorf("git is required: %w", err)
	}
	scratch, err := os.MkdirTemp("", "trueup-bench-")
	if err != nil {
		return nil, fmt.Errorf("scratch dir: %w", err)
	}
	e.scratch = scratch
	e.machine = e.describeMachine()
	if e.lockFile, err = e.providerLockFile(); err != nil {
		e.cleanup()
		return nil, err
	}
	return e, nil
}

func (e *env) cleanup() {
	if e.keep {
		fmt.Fprintf(os.Stderr, "kept %s\n", e.scratch)
		return
	}
	_ = os.RemoveAll(e.scratch)
}

// dir returns a new directory under the scratch directory.
func (e *env) dir(name string) (string, error) {
	d := filepath.Join(e.scratch, name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", err
	}
	return d, nil
}

// logf prints progress to stderr with the time since the start.
func (e *env) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%6.1fs] %s\n", time.Since(e.started).Seconds(), fmt.Sprintf(format, args...))
}

// Machine is what the numbers were measured on.
type Machine struct {
	NProc     int    `json:"nproc"`
	MemoryMB  int    `json:"memory_mb"`
	CPU       string `json:"cpu"`
	Go        string `json:"go"`
	Terraform string `json:"terraform"`
	Trueup    string `json:"trueup"`
	Load1     string `json:"load_avg_at_start"`
}

func (e *env) describeMachine() Machine {
	m := Machine{NProc: runtime.NumCPU(), Go: runtime.Version()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if kb, ok := procKB("/proc/meminfo", "MemTotal"); ok {
		m.MemoryMB = kb / 1024
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m.Load1 = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	if out, err := exec.Command(e.terraform, "version").Output(); err == nil {
		m.Terraform = firstLine(string(out))
	}
	if out, err := exec.Command(e.trueup, "version").Output(); err == nil {
		m.Trueup = firstLine(string(out))
	}
	return m
}

// procKB reads a "Key:   123 kB" line from a /proc file.
func procKB(path, key string) (int, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != key {
			continue
		}
		var n int
		if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d", &n); err == nil {
			return n, true
		}
	}
	return 0, false
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
