package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler/terraform/tftest"
)

// logBuffer collects the daemon's JSON log lines for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// entries returns the parsed log lines whose msg is msg and whose attributes include every key=value in attrs.
func (b *logBuffer) entries(msg string, attrs ...string) []map[string]any {
	b.mu.Lock()
	data := bytes.Clone(b.buf.Bytes())
	b.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) != nil || m["msg"] != msg {
			continue
		}
		ok := true
		for i := 0; i+1 < len(attrs); i += 2 {
			if fmt.Sprint(m[attrs[i]]) != attrs[i+1] {
				ok = false
			}
		}
		if ok {
			out = append(out, m)
		}
	}
	return out
}

func (b *logBuffer) count(msg string, attrs ...string) int { return len(b.entries(msg, attrs...)) }

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// daemon is trueup running in-process against a test repository.
type daemon struct {
	t    *testing.T
	cfg  Config
	logs *logBuffer
	stop func() error
}

// testConfig is a daemon config for repoURL with the real Terraform from `make tools`.
func testConfig(t *testing.T, repoURL, dataDir string) Config {
	bin, rc := tftest.Tools(t)
	cfg := DefaultConfig()
	cfg.Repo.URL = repoURL
	cfg.Repo.PollInterval = 200 * time.Millisecond
	cfg.DataDir = dataDir
	cfg.Listen = "127.0.0.1:0"
	cfg.ShutdownGrace = 30 * time.Second
	cfg.Log.Level = "debug"
	cfg.Terraform.Binary = bin
	cfg.Terraform.CLIConfigFile = rc
	cfg.Drift.Interval = time.Hour
	return cfg
}

// startDaemon runs trueup until the test ends (or stop is called) and returns its logs.
func startDaemon(t *testing.T, cfg Config) *daemon {
	t.Helper()
	require.NoError(t, cfg.Validate())
	logs := &logBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runDaemon(ctx, cfg, log) }()
	var once sync.Once
	var result error
	d := &daemon{t: t, cfg: cfg, logs: logs}
	d.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case result = <-done:
			case <-time.After(2 * time.Minute):
				result = fmt.Errorf("daemon did not stop")
			}
		})
		return result
	}
	t.Cleanup(func() {
		_ = d.stop()
		if t.Failed() {
			t.Logf("daemon log:\n%s", logs.String())
		}
	})
	return d
}

// waitFor polls cond until it holds, failing the test after a generous deadline (no timing is asserted).
func (d *daemon) waitFor(what string, cond func() bool) {
	d.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			d.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// localStack is a stack of local_file resources writing under outDir; module is a local module source or "".
func localStack(outDir, name, content, module string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "terraform {\n  required_providers {\n    local = { source = \"hashicorp/local\" }\n  }\n}\n\n")
	fmt.Fprintf(&b, "resource \"local_file\" \"main\" {\n  filename = %q\n  content  = %q\n}\n", filepath.Join(outDir, name+".txt"), content)
	if module != "" {
		fmt.Fprintf(&b, "\nmodule \"shared\" {\n  source  = %q\n  out_dir = %q\n  name    = %q\n}\n", module, outDir, name)
	}
	return b.String()
}

// sharedModule writes "<name>-shared.txt" with content.
func sharedModule(content string) string {
	return fmt.Sprintf(`variable "out_dir" { type = string }
variable "name" { type = string }

resource "local_file" "shared" {
  filename = "${var.out_dir}/${var.name}-shared.txt"
  content  = %q
}
`, content)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return string(b)
}
