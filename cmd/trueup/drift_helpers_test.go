package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// slackMessage is one post the Slack receiver got, with the status it answered.
type slackMessage struct {
	Text   string            `json:"text"`
	Blocks []json.RawMessage `json:"blocks"`
	Status int               `json:"-"`
}

// headline is the first line of the plain-text fallback: "<emoji> <stack>: <verdict>".
func (m slackMessage) headline() string {
	first, _, _ := strings.Cut(m.Text, "\n")
	return first
}

// slackReceiver is a Slack incoming webhook: it takes POSTed JSON {text, blocks}, answers "ok"
// (or 500 while told to fail) and records every post.
type slackReceiver struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	posts    []slackMessage
	failNext int
	invalid  []string
}

func newSlackReceiver(t *testing.T) *slackReceiver {
	s := &slackReceiver{t: t}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the webhook URL, as trueup reads it from SLACK_WEBHOOK_URL.
func (s *slackReceiver) URL() string { return s.srv.URL + "/services/T000/B000/drifttest" }

func (s *slackReceiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var m slackMessage
	err := json.Unmarshal(body, &m)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json"):
		s.invalid = append(s.invalid, r.Method+" "+r.Header.Get("Content-Type"))
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	case err != nil || m.Text == "" || len(m.Blocks) == 0:
		s.invalid = append(s.invalid, string(body))
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	case s.failNext > 0:
		s.failNext--
		m.Status = http.StatusInternalServerError
		s.posts = append(s.posts, m)
		http.Error(w, "internal_error", http.StatusInternalServerError)
		return
	}
	m.Status = http.StatusOK
	s.posts = append(s.posts, m)
	_, _ = io.WriteString(w, "ok")
}

// fail makes the receiver answer 500 to the next n well-formed posts.
func (s *slackReceiver) fail(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = n
}

// messages returns the posts answered with status whose headline is "<stack>: <verdict>".
func (s *slackReceiver) messages(status int, stack, verdict string) []slackMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []slackMessage
	for _, m := range s.posts {
		if m.Status == status && strings.HasSuffix(m.headline(), " "+stack+": "+verdict) {
			out = append(out, m)
		}
	}
	return out
}

// delivered returns the messages Slack took (200) for stack with the verdict.
func (s *slackReceiver) delivered(stack, verdict string) []slackMessage {
	return s.messages(http.StatusOK, stack, verdict)
}

// count is how many messages Slack took for stack with the verdict.
func (s *slackReceiver) count(stack, verdict string) int { return len(s.delivered(stack, verdict)) }

// headlines lists the headlines of every delivered message, for failure output and comparisons.
func (s *slackReceiver) headlines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, m := range s.posts {
		if m.Status == http.StatusOK {
			out = append(out, m.headline())
		}
	}
	return out
}

// checkWellFormed fails the test if trueup ever posted something Slack would reject.
func (s *slackReceiver) checkWellFormed() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	assert.Empty(s.t, s.invalid, "every post is a JSON message with text and blocks")
}

// extraFileResource is a local_file that exists only in state: applied by hand, never committed.
func extraFileResource(path string) string {
	return fmt.Sprintf("resource \"local_file\" \"extra\" {\n  filename = %q\n  content  = \"made by hand\"\n}\n", path)
}

// fileStack is a stack of local_file resources "<name>-<i>.txt" (i = 1..n) under outDir.
func fileStack(outDir, name string, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "terraform {\n  required_providers {\n    local = { source = \"hashicorp/local\" }\n  }\n}\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "\nresource \"local_file\" \"f%d\" {\n  filename = %q\n  content  = \"%s-%d\"\n}\n",
			i, filepath.Join(outDir, fmt.Sprintf("%s-%d.txt", name, i)), name, i)
	}
	return b.String()
}

// applyByHand runs the real terraform apply in a scratch directory holding files, with its state in
// statePath, with the Terraform binary and CLI configuration of cfg: someone changing the stack's
// state from outside trueup. It may run in a goroutine.
func applyByHand(cfg Config, dir string, files map[string]string, statePath string) error {
	bin, rc := cfg.Terraform.Binary, cfg.Terraform.CLIConfigFile
	files = maps.Clone(files)
	files["zz_by_hand_backend.tf"] = fmt.Sprintf("terraform {\n  backend \"local\" {\n    path = %q\n  }\n}\n", statePath)
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	run := func(args ...string) error {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+rc, "TF_IN_AUTOMATION=1", "TF_INPUT=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("terraform %s: %w\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := run("init", "-input=false", "-no-color"); err != nil {
		return err
	}
	// trueup may be planning the stack right now: wait for its state lock.
	return run("apply", "-auto-approve", "-input=false", "-no-color", "-lock-timeout=2m")
}

// revRE matches the short revisions in a message.
var revRE = regexp.MustCompile(`\b[0-9a-f]{8}\b`)

// assertDriftGolden compares a Slack message's plain text, with out and revisions made stable, with
// testdata/drift/<name>.golden, or rewrites it under -update.
func assertDriftGolden(t *testing.T, name, out string, m slackMessage) {
	t.Helper()
	got := strings.ReplaceAll(m.Text, out, "<out>")
	got = revRE.ReplaceAllString(got, "<rev>") + "\n"
	assertGoldenFile(t, filepath.Join("testdata", "drift", name+".golden"), got, "Slack message")
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// eventually polls cond until it holds and fails t (the calling test or subtest, unlike
// daemon.waitFor, which fails the test that started the daemon) after a generous deadline.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// eventsLogged returns the kinds of the events the daemon recorded for stack, in order. Each event
// is logged the moment it is saved to the outbox (its message is its summary, which starts with the
// stack's name), so this counts alerts before Slack gets them, duplicates included.
func eventsLogged(logs *logBuffer, stack string) []string {
	var kinds []string
	for line := range strings.SplitSeq(logs.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil || m["stack"] != stack {
			continue
		}
		msg, _ := m["msg"].(string)
		if kind, ok := m["kind"].(string); ok && strings.HasPrefix(msg, stack+" ") {
			kinds = append(kinds, kind)
		}
	}
	return kinds
}

// verdicts returns the verdicts ("drift detected", ...) of the messages Slack took for stack, in order.
func (s *slackReceiver) verdicts(stack string) []string {
	var out []string
	for _, h := range s.headlines() {
		if _, verdict, ok := strings.Cut(h, " "+stack+": "); ok {
			out = append(out, verdict)
		}
	}
	return out
}

// verdictsOf maps event kinds to the verdicts Slack shows for them ("drift_detected" → "drift detected").
func verdictsOf(kinds []string) []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = strings.ReplaceAll(k, "_", " ")
	}
	return out
}
