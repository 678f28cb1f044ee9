package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
)

// pullPlanText is longer than a pull request comment shows: the CLI prints all of it.
var pullPlanText = "Terraform will perform the following actions:\n\n" +
	strings.Repeat("  # local_file.f will be created\n  + resource \"local_file\" \"f\" {\n      + content = \"x\"\n    }\n\n", 1500) +
	"Plan: 1500 to add, 0 to change, 0 to destroy.\n"

func statusPulls(now time.Time) []reconciler.BranchPlan {
	return []reconciler.BranchPlan{
		{
			Target: "pr-12", Stack: "network", Revision: cliSHA, Result: reconciler.ResultSucceeded, Add: 1, Delete: 1,
			Rendered: "  # local_file.a must be replaced\n-/+ resource \"local_file\" \"a\" {\n      ~ content = \"v1\" -> \"v2\"\n    }\n\nPlan: 1 to add, 0 to change, 1 to destroy.\n",
			Time:     now.Add(-5 * time.Minute),
		},
		{
			Target: "pr-12", Stack: "stacks/app@prod", Revision: cliSHA, Result: reconciler.ResultFailed,
			Error: "Error: Unsupported argument\n\n  on main.tf line 3:\n   3:   colour = \"red\"\n", Time: now.Add(-5 * time.Minute),
		},
		{Target: "pr-12", Stack: "stacks/db", Revision: cliSHA, Result: reconciler.ResultNoChanges, Time: now.Add(-5 * time.Minute)},
		{
			Target: "pr-12", Stack: "stacks/queue", Revision: cliSHA, Result: reconciler.ResultSucceeded, Change: 1,
			Rendered:   "  ~ resource \"terraform_data\" \"q\" {}\n",
			HeldReason: "the merged plan differs from the reviewed one:\nterraform_data.q: update → delete", Time: now.Add(-3 * time.Hour),
			Notice: "this pull request changes on_apply, which takes effect after the merge",
		},
		{
			Target: "pr-12", Stack: "stacks/web", Revision: cliSHA, Result: reconciler.ResultSucceeded, Add: 2,
			Rendered: "Plan: 2 to add, 0 to change, 0 to destroy.\n", Time: now.Add(-2 * time.Hour),
			Applied: &reconciler.RunRecord{Kind: reconciler.RunApply, Branch: "main", Revision: "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567",
				Result: reconciler.ResultFailed, Error: "Error: creating bucket: AccessDenied"},
		},
	}
}

func TestRenderPull(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	require.NoError(t, renderPull(&out, 12, statusPulls(now), now))
	want := `pull request #12: 5 stack(s) planned

=== network: planned, 1 to add, 0 to change, 1 to destroy
revision 3f2a9c1d, planned 5m ago

  # local_file.a must be replaced
-/+ resource "local_file" "a" {
      ~ content = "v1" -> "v2"
    }

Plan: 1 to add, 0 to change, 1 to destroy.

=== stacks/app@prod: plan failed
revision 3f2a9c1d, planned 5m ago

Error: Unsupported argument

  on main.tf line 3:
   3:   colour = "red"

=== stacks/db: no changes
revision 3f2a9c1d, planned 5m ago

=== stacks/queue: held, 0 to add, 1 to change, 0 to destroy
revision 3f2a9c1d, planned 3h ago
held: the merged plan differs from the reviewed one:
      terraform_data.q: update → delete
note: this pull request changes on_apply, which takes effect after the merge

  ~ resource "terraform_data" "q" {}

=== stacks/web: apply failed, 2 to add, 0 to change, 0 to destroy
revision 3f2a9c1d, planned 2h ago
apply of 0a1b2c3d on main: failed

Plan: 2 to add, 0 to change, 0 to destroy.

Error: creating bucket: AccessDenied
`
	assert.Equal(t, want, out.String())
}

func TestStatusPullFromTheDaemon(t *testing.T) {
	var mu sync.Mutex
	var asked []int
	plans := statusPulls(time.Now())
	plans[0].Rendered = pullPlanText
	b := &cliBackend{PullPlansFunc: func(ctx context.Context, number int) ([]reconciler.BranchPlan, error) {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, number)
		if number != 12 {
			return nil, reconciler.ErrNotFound
		}
		return plans, nil
	}}
	cliDaemon(t, b, cliToken)

	t.Run("right token", func(t *testing.T) {
		t.Setenv(defaultTokenEnv, cliToken)
		code, out, errOut := runCLI(t, "status", "--pull", "12")
		require.Equal(t, 0, code, errOut)
		assert.True(t, strings.HasPrefix(out, "pull request #12: 5 stack(s) planned\n\n=== network: planned, 1 to add, 0 to change, 1 to destroy\n"), out[:200])
		assert.Contains(t, out, "\n\n"+strings.TrimRight(pullPlanText, "\n")+"\n\n=== stacks/app@prod: plan failed\n", "the full plan text")
	})
	t.Run("flag after --json and leading zero", func(t *testing.T) {
		t.Setenv(defaultTokenEnv, cliToken)
		code, out, errOut := runCLI(t, "status", "--json", "--pull", "012")
		require.Equal(t, 0, code, errOut)
		var got struct {
			Number int                     `json:"number"`
			Plans  []reconciler.BranchPlan `json:"plans"`
		}
		require.NoError(t, json.Unmarshal([]byte(out), &got), out[:200])
		assert.Equal(t, 12, got.Number)
		require.Len(t, got.Plans, 5)
		assert.Equal(t, pullPlanText, got.Plans[0].Rendered)
		assert.True(t, strings.HasSuffix(out, "}\n") && !strings.HasSuffix(out, "\n\n"), "one trailing newline")
	})
	t.Run("no plans", func(t *testing.T) {
		t.Setenv(defaultTokenEnv, cliToken)
		code, out, errOut := runCLI(t, "status", "--pull", "7")
		assert.Equal(t, 1, code)
		assert.Empty(t, out)
		assert.Equal(t, "trueup: status --pull 7: no plans recorded for pull request #7\n", errOut)
	})
	t.Run("no token", func(t *testing.T) {
		code, out, errOut := runCLI(t, "status", "--pull", "12")
		assert.Equal(t, 1, code)
		assert.Empty(t, out)
		assert.Equal(t, "trueup: status --pull 12: missing bearer token: send Authorization: Bearer <token> (set $TRUEUP_API_TOKEN to the daemon's API token)\n", errOut)
	})
	t.Run("wrong token", func(t *testing.T) {
		t.Setenv(defaultTokenEnv, "not-"+cliToken)
		code, _, errOut := runCLI(t, "status", "--pull", "12")
		assert.Equal(t, 1, code)
		assert.Equal(t, "trueup: status --pull 12: invalid bearer token (check $TRUEUP_API_TOKEN)\n", errOut)
	})
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []int{12, 12, 7}, asked, "only authorized reads reach the reconciler")
}

func TestStatusPullCommandLines(t *testing.T) {
	cliDaemon(t, &cliBackend{PullPlansFunc: func(context.Context, int) ([]reconciler.BranchPlan, error) {
		t.Error("a bad command line never reaches the daemon")
		return nil, nil
	}}, "")
	for _, args := range [][]string{
		{"status", "--pull", "0"},
		{"status", "--pull", "-1"},
		{"status", "--pull", "+3"},
		{"status", "--pull", "abc"},
		{"status", "--pull", "0x10"}, // flag.Int would take it as 16
		{"status", "--pull", "1_000"},
		{"status", "--pull", "2147483648"},
		{"status", "--pull", "../stacks"},
		{"status", "--pull="},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, out, errOut := runCLI(t, args...)
			assert.Equal(t, 2, code, errOut)
			assert.Empty(t, out)
			assert.Contains(t, errOut, "want the number of a pull request")
		})
	}
	code, _, errOut := runCLI(t, "status", "--help")
	assert.Equal(t, 0, code)
	assert.Contains(t, errOut, "trueup status --pull 12 | less")
}

// recordingDaemon is a stand-in for the daemon that records the Authorization header of each request
// and answers an empty stack list.
func recordingDaemon(t *testing.T) (url string, auth func() []string) {
	t.Helper()
	var mu sync.Mutex
	var got []string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"stacks": [], "plans": []}`)
	}))
	t.Cleanup(ts.Close)
	return ts.URL, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
}

func TestStatusSendsTheTokenForReads(t *testing.T) {
	url, auth := recordingDaemon(t)
	t.Setenv(addrEnv, url)
	t.Setenv(defaultTokenEnv, cliToken)
	code, _, errOut := runCLI(t, "status")
	require.Equal(t, 0, code, errOut)
	code, _, errOut = runCLI(t, "status", "--pull", "3")
	require.Equal(t, 0, code, errOut)
	t.Setenv(defaultTokenEnv, "")
	code, _, errOut = runCLI(t, "status")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, []string{
		"GET /api/v1/stacks Bearer " + cliToken,
		"GET /api/v1/leader Bearer " + cliToken, // which replica leads, above the table
		"GET /api/v1/pulls/3 Bearer " + cliToken,
		"GET /api/v1/stacks ",
		"GET /api/v1/leader ",
	}, auth())
}

// net/http would send the token along a redirect to any port of the same host; the client follows
// no redirect at all.
func TestClientFollowsNoRedirect(t *testing.T) {
	elsewhere, auth := recordingDaemon(t)
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirector.Close)
	t.Setenv(addrEnv, redirector.URL)
	t.Setenv(defaultTokenEnv, cliToken)
	for _, args := range [][]string{{"status"}, {"status", "--pull", "3"}, {"reconcile", "app"}} {
		code, out, errOut := runCLI(t, args...)
		assert.Equal(t, 1, code, errOut)
		assert.Empty(t, out)
		assert.Contains(t, errOut, "307 Temporary Redirect from "+redirector.URL)
		assert.Contains(t, errOut, "it redirects to "+elsewhere+"/api/v1/")
	}
	assert.Empty(t, auth(), "nothing reached the other server")
}

// Stack names, errors and plan texts may come from a branch; printed as they are, escape sequences
// would rewrite the operator's terminal.
func TestStatusEscapesControlCharacters(t *testing.T) {
	evil := "ok\x1b]0;pwned\x07\x1b[2J\rfake line\u009b31m\u202eesrever\x7f"
	escaped := `ok\x1b]0;pwned\x07\x1b[2J\x0dfake line\u009b31m\u202eesrever\x7f`
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

	var out bytes.Buffer
	plans := []reconciler.BranchPlan{{
		Stack: "net\x1b[8mwork\nforged: line", Revision: cliSHA, Result: reconciler.ResultHeld, Time: now,
		Rendered: "line 1\n" + evil + "\n\tindented", HeldReason: evil, Notice: evil,
	}}
	require.NoError(t, renderPull(&out, 1, plans, now))
	text := out.String()
	assertPrintable(t, text)
	assert.Contains(t, text, "=== net\\x1b[8mwork\\x0aforged: line: held")
	assert.Contains(t, text, "\nline 1\n"+escaped+"\n\tindented\n", "newlines and tabs of a plan are kept")
	assert.Contains(t, text, "held: "+escaped+"\n")

	out.Reset()
	stacks := []reconciler.StackStatus{{Name: "a\x1b[31m", LastRun: &reconciler.RunRecord{Kind: reconciler.RunApply,
		Result: reconciler.ResultFailed, Error: "\x1b]0;pwned\x07 boom"}}}
	require.NoError(t, renderStatus(&out, stacks, now))
	assertPrintable(t, out.String())
	assert.Contains(t, out.String(), `a\x1b[31m`)
	assert.Contains(t, out.String(), `\x1b]0;pwned\x07 boom`)
}

func TestClientEscapesTheDaemonsErrors(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"error": "stack \"\u001b]0;pwned\u0007\r\" not found"}`)
	}))
	t.Cleanup(ts.Close)
	t.Setenv(addrEnv, ts.URL)
	code, _, errOut := runCLI(t, "reconcile", "x")
	assert.Equal(t, 1, code)
	assertPrintable(t, errOut)
	assert.Equal(t, `trueup: reconcile x: stack "\x1b]0;pwned\x07\x0d" not found`+"\n", errOut)
}

func assertPrintable(t *testing.T, s string) {
	t.Helper()
	for _, r := range s {
		if r == '\n' || r == '\t' {
			continue
		}
		assert.False(t, r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || (r >= 0x202a && r <= 0x202e),
			"control character %U in %q", r, s)
	}
}

func TestPrintable(t *testing.T) {
	tests := []struct {
		in        string
		multiline bool
		want      string
	}{
		{"plain text ✓ שלום", false, "plain text ✓ שלום"},
		{"a\nb\tc", true, "a\nb\tc"},
		{"a\nb\tc", false, `a\x0ab\x09c`},
		{"\x00\x1b\r\x7f", true, `\x00\x1b\x0d\x7f`},
		{"\u0085\u009b", true, `\u0085\u009b`},
		{"\u202a\u202e\u2066\u2069\u200e\u200f\u061c", true, `\u202a\u202e\u2066\u2069\u200e\u200f\u061c`},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, printable(tt.in, tt.multiline), "%q", tt.in)
	}
}
