package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/api"
)

const (
	cliToken = "tok-3f9a-very-secret"
	cliSHA   = "3f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39"
)

// cliBackend is a hand-written api.Backend with Func fields; it records the mutations it is asked for.
type cliBackend struct {
	StacksFunc    func(ctx context.Context) ([]reconciler.StackStatus, error)
	ReconcileFunc func(ctx context.Context, name string) error
	ApproveFunc   func(ctx context.Context, name, rev string) (reconciler.Revision, error)
	PullPlansFunc func(ctx context.Context, number int) ([]reconciler.BranchPlan, error)

	mu    sync.Mutex
	calls []string
}

var _ api.Backend = (*cliBackend)(nil)

func (b *cliBackend) record(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, s)
}

func (b *cliBackend) Calls() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.calls...)
}

func (b *cliBackend) Stacks(ctx context.Context) ([]reconciler.StackStatus, error) {
	if b.StacksFunc == nil {
		return nil, nil
	}
	return b.StacksFunc(ctx)
}

func (b *cliBackend) Stack(ctx context.Context, name string) (reconciler.StackStatus, error) {
	all, err := b.Stacks(ctx)
	if err != nil {
		return reconciler.StackStatus{}, err
	}
	for _, s := range all {
		if s.Name == name {
			return s, nil
		}
	}
	return reconciler.StackStatus{}, fmt.Errorf("stack %q: %w", name, reconciler.ErrNotFound)
}

func (b *cliBackend) Reconcile(ctx context.Context, name string) error {
	b.record("reconcile " + name)
	if b.ReconcileFunc == nil {
		return nil
	}
	return b.ReconcileFunc(ctx, name)
}

func (b *cliBackend) Approve(ctx context.Context, name, rev string) (reconciler.Revision, error) {
	b.record("approve " + name + " " + rev)
	if b.ApproveFunc == nil {
		return reconciler.Revision(rev), nil
	}
	return b.ApproveFunc(ctx, name, rev)
}

func (b *cliBackend) PullPlans(ctx context.Context, number int) ([]reconciler.BranchPlan, error) {
	if b.PullPlansFunc == nil {
		return nil, reconciler.ErrNotFound
	}
	return b.PullPlansFunc(ctx, number)
}

func (b *cliBackend) Health() reconciler.Health         { return reconciler.Health{} }
func (b *cliBackend) StoreOK(ctx context.Context) error { return nil }

// cliDaemon serves an api.Server over b with token (empty: mutations disabled) and points the
// commands at it through $TRUEUP_ADDR, with $TRUEUP_API_TOKEN unset.
func cliDaemon(t *testing.T, b *cliBackend, token string) *httptest.Server {
	t.Helper()
	srv, err := api.New(api.Options{Backend: b, Token: token, PollInterval: time.Minute})
	require.NoError(t, err)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	t.Setenv(addrEnv, ts.URL)
	t.Setenv(defaultTokenEnv, "")
	return ts
}

// runCLI runs one command line as the trueup binary would and returns its exit code and output.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = runMain(t.Context(), args, &out, &errOut)
	assert.NotContains(t, out.String()+errOut.String(), cliToken, "the token is never printed")
	return code, out.String(), errOut.String()
}

// statusStacks are the stacks of the status tests, with runs dated from now.
func statusStacks(now time.Time) []reconciler.StackStatus {
	return []reconciler.StackStatus{
		{
			Name: "network", AppliedRev: cliSHA, InRepository: true,
			LastRun: &reconciler.RunRecord{Kind: reconciler.RunDrift, Result: reconciler.ResultNoChanges, Finished: now.Add(-5 * time.Minute)},
			Drift:   reconciler.DriftState{LastChecked: now.Add(-5 * time.Minute)},
		},
		{
			Name: "stacks/app@prod", AppliedRev: "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567", InRepository: true,
			LastRun: &reconciler.RunRecord{
				Kind: reconciler.RunApply, Result: reconciler.ResultHeld, Finished: now.Add(-3 * time.Hour),
				Error: "the merged plan differs from the plan reviewed on pull request #12, which destroyed nothing\nsecond line",
			},
			Held: &reconciler.Hold{Revision: cliSHA, Reason: "plan differs"},
		},
		{
			Name: "stacks/db", InRepository: true, Running: true,
			LastRun: &reconciler.RunRecord{Kind: reconciler.RunApply, Result: reconciler.ResultFailed, Finished: now.Add(-50 * time.Second),
				Error: "apply: Error: creating DB instance: AccessDenied"},
			Drift: reconciler.DriftState{Drifted: true, LastChecked: now, Resources: []reconciler.ResourceChange{
				{Address: "aws_db_instance.main", Action: reconciler.ActionUpdate},
				{Address: "aws_security_group.db", Action: reconciler.ActionUpdate},
			}},
		},
		{Name: "stacks/queue", AppliedRev: cliSHA, Pending: true, Drift: reconciler.DriftState{Drifted: true, HeldReason: "destroys"}},
		{Name: "old", AppliedRev: cliSHA, Removed: true},
	}
}

func TestRenderStatus(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	require.NoError(t, renderStatus(&out, statusStacks(now), now))
	want := `STACK            APPLIED   LAST RUN                  DRIFT      STATE          ERROR
network          3f2a9c1d  drift no changes, 5m ago  in sync    -
stacks/app@prod  0a1b2c3d  apply held, 3h ago        -          held 3f2a9c1d  the merged plan differs from the plan reviewed on pull requ…
stacks/db        -         apply failed, 50s ago     drifted 2  running        apply: Error: creating DB instance: AccessDenied
stacks/queue     3f2a9c1d  -                         held       pending
old              3f2a9c1d  -                         -          removed
`
	assert.Equal(t, want, out.String())
}

func TestRenderStatusWithoutStacks(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, renderStatus(&out, nil, time.Now()))
	assert.Equal(t, "no stacks yet: trueup has not read the repository (see its log, or GET /readyz)\n", out.String())
}

func TestAgo(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "just now", 45 * time.Second: "45s ago", 5*time.Minute + 59*time.Second: "5m ago",
		3 * time.Hour: "3h ago", 47 * time.Hour: "47h ago", 72 * time.Hour: "3d ago",
	} {
		assert.Equal(t, want, ago(d), d.String())
	}
}

func TestStatusTableFromTheDaemon(t *testing.T) {
	stacks := statusStacks(time.Now())
	cliDaemon(t, &cliBackend{StacksFunc: func(context.Context) ([]reconciler.StackStatus, error) { return stacks, nil }}, cliToken)
	t.Setenv(defaultTokenEnv, cliToken)

	code, out, errOut := runCLI(t, "status")
	require.Equal(t, 0, code, errOut)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 6, out)
	assert.Regexp(t, `^STACK +APPLIED +LAST RUN +DRIFT +STATE +ERROR$`, lines[0])
	assert.Regexp(t, `^network +3f2a9c1d +drift no changes, 5m ago +in sync +-$`, lines[1])
	assert.Regexp(t, `^stacks/app@prod +0a1b2c3d +apply held, 3h ago +- +held 3f2a9c1d +the merged plan differs`, lines[2])
	assert.Regexp(t, `^stacks/db +- +apply failed, \d+s ago +drifted 2 +running +apply: Error: creating DB instance: AccessDenied$`, lines[3])
	assert.NotContains(t, out, "second line")
}

func TestStatusJSON(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	stacks := statusStacks(now)
	cliDaemon(t, &cliBackend{StacksFunc: func(context.Context) ([]reconciler.StackStatus, error) { return stacks, nil }}, "")

	code, out, errOut := runCLI(t, "status", "--json")
	require.Equal(t, 0, code, errOut)
	assert.True(t, strings.HasPrefix(out, "{\n  \"stacks\": [\n    {\n      \"name\": \"network\","), out)
	assert.True(t, strings.HasSuffix(out, "}\n") && !strings.HasSuffix(out, "\n\n"), "one trailing newline")
	var got struct{ Stacks []reconciler.StackStatus }
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	assert.Equal(t, stacks, got.Stacks)
}

func TestApprove(t *testing.T) {
	b := &cliBackend{ApproveFunc: func(ctx context.Context, name, rev string) (reconciler.Revision, error) {
		if name == "stacks/app@prod" && strings.HasPrefix(cliSHA, rev) {
			return cliSHA, nil
		}
		return "", fmt.Errorf("%w: no apply of %s is held", reconciler.ErrConflict, name)
	}}
	ts := cliDaemon(t, b, cliToken)

	t.Run("right token", func(t *testing.T) {
		t.Setenv(defaultTokenEnv, cliToken)
		code, out, errOut := runCLI(t, "approve", "stacks/app@prod", "3f2a9c1")
		require.Equal(t, 0, code, errOut)
		assert.Equal(t, "approved stacks/app@prod at 3f2a9c1d\n", out)
	})
	t.Run("flags after the arguments and another token variable", func(t *testing.T) {
		t.Setenv(addrEnv, "http://127.0.0.1:1")
		t.Setenv("PROD_TRUEUP_TOKEN", cliToken)
		code, out, errOut := runCLI(t, "approve", "stacks/app@prod", cliSHA, "--addr", ts.URL+"/", "--token-env", "PROD_TRUEUP_TOKEN")
		require.Equal(t, 0, code, errOut)
		assert.Equal(t, "approved stacks/app@prod at 3f2a9c1d\n", out)
	})
	t.Run("wrong token", func(t *testing.T) {
		t.Setenv(defaultTokenEnv, "not-"+cliToken)
		code, out, errOut := runCLI(t, "approve", "stacks/app@prod", "3f2a9c1")
		assert.Equal(t, 1, code)
		assert.Empty(t, out)
		assert.Equal(t, "trueup: approve stacks/app@prod: invalid bearer token (check $TRUEUP_API_TOKEN)\n", errOut)
	})
	t.Run("no token", func(t *testing.T) {
		code, _, errOut := runCLI(t, "approve", "stacks/app@prod", "3f2a9c1")
		assert.Equal(t, 1, code)
		assert.Equal(t, "trueup: approve stacks/app@prod: missing bearer token: send Authorization: Bearer <token> (set $TRUEUP_API_TOKEN to the daemon's API token)\n", errOut)
	})
	t.Run("nothing held", func(t *testing.T) {
		t.Setenv(defaultTokenEnv, cliToken)
		code, _, errOut := runCLI(t, "approve", "network", "3f2a9c1")
		assert.Equal(t, 1, code)
		assert.Equal(t, "trueup: approve network: conflict: no apply of network is held\n", errOut)
	})
	t.Run("bad revision", func(t *testing.T) {
		t.Setenv(defaultTokenEnv, cliToken)
		code, _, errOut := runCLI(t, "approve", "network", "HEAD")
		assert.Equal(t, 1, code)
		assert.Equal(t, "trueup: approve network: revision \"HEAD\" is not a commit sha or a prefix of at least 7 hex digits\n", errOut)
	})
	assert.Equal(t, []string{
		"approve stacks/app@prod 3f2a9c1",
		"approve stacks/app@prod " + cliSHA,
		"approve network 3f2a9c1",
	}, b.Calls(), "only authorized, well-formed approvals reach the reconciler")
}

func TestApproveWhenTheDaemonHasNoToken(t *testing.T) {
	cliDaemon(t, &cliBackend{}, "")
	t.Setenv(defaultTokenEnv, cliToken)
	code, _, errOut := runCLI(t, "approve", "network", "3f2a9c1")
	assert.Equal(t, 1, code)
	assert.Equal(t, "trueup: approve network: mutations are disabled: api.token_env is not configured on the daemon\n", errOut)
}

func TestReconcile(t *testing.T) {
	b := &cliBackend{ReconcileFunc: func(ctx context.Context, name string) error {
		if name != "stacks/app" {
			return fmt.Errorf("stack %q is not in the repository at main's head: %w", name, reconciler.ErrNotFound)
		}
		return nil
	}}
	cliDaemon(t, b, cliToken)
	t.Setenv(defaultTokenEnv, cliToken)

	code, out, errOut := runCLI(t, "reconcile", "stacks/app")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "queued stacks/app\n", out)

	code, out, errOut = runCLI(t, "reconcile", "stacks/nope")
	assert.Equal(t, 1, code)
	assert.Empty(t, out)
	assert.Equal(t, "trueup: reconcile stacks/nope: stack \"stacks/nope\" is not in the repository at main's head: not found\n", errOut)
	assert.Equal(t, []string{"reconcile stacks/app", "reconcile stacks/nope"}, b.Calls())
}

// closedAddr returns the URL of a port nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return "http://" + addr
}

func TestUnreachableDaemon(t *testing.T) {
	addr := closedAddr(t)
	t.Setenv(addrEnv, "")
	t.Setenv(defaultTokenEnv, cliToken)
	for _, args := range [][]string{
		{"status", "--addr", addr},
		{"approve", "app", "3f2a9c1", "--addr", addr},
		{"reconcile", "app", "--addr", strings.TrimPrefix(addr, "http://")},
	} {
		t.Run(args[0], func(t *testing.T) {
			code, out, errOut := runCLI(t, args...)
			assert.Equal(t, 1, code)
			assert.Empty(t, out)
			assert.Contains(t, errOut, "cannot reach trueup at "+addr+": is it running?")
		})
	}
}

func TestClientCommandLines(t *testing.T) {
	t.Setenv(addrEnv, "")
	tests := []struct {
		args      []string
		wantCode  int
		wantInErr string
	}{
		{args: []string{"status", "--help"}, wantCode: 0, wantInErr: "trueup status --json | jq"},
		{args: []string{"approve", "-h"}, wantCode: 0, wantInErr: "trueup approve stacks/app 3f2a9c1"},
		{args: []string{"reconcile", "--help"}, wantCode: 0, wantInErr: "Examples:\n  TRUEUP_API_TOKEN=... trueup reconcile stacks/app"},
		{args: []string{"approve", "stacks/app"}, wantCode: 2, wantInErr: "want STACK and SHA (the held revision), got 1 argument(s)"},
		{args: []string{"reconcile"}, wantCode: 2, wantInErr: "want one STACK, got 0 argument(s)"},
		{args: []string{"reconcile", "a", "b"}, wantCode: 2, wantInErr: "want one STACK, got 2 argument(s)"},
		{args: []string{"status", "extra"}, wantCode: 2, wantInErr: `unexpected argument "extra"`},
		{args: []string{"status", "--bogus"}, wantCode: 2, wantInErr: "flag provided but not defined: -bogus"},
		{args: []string{"status", "--addr", "ftp://example.com"}, wantCode: 1, wantInErr: `--addr "ftp://example.com": want a URL like http://127.0.0.1:8080`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, _, errOut := runCLI(t, tt.args...)
			assert.Equal(t, tt.wantCode, code, errOut)
			assert.Contains(t, errOut, tt.wantInErr)
		})
	}
}

func TestDefaultAddr(t *testing.T) {
	t.Setenv(addrEnv, "")
	c, err := (&clientFlags{addr: defaultAddr, tokenEnv: defaultTokenEnv}).client()
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:8080", c.base)
}

func TestParseArgsStopsAtDoubleDash(t *testing.T) {
	var cf clientFlags
	fs := newFlagSet("x", "x", "", &bytes.Buffer{})
	cf.register(fs)
	pos, err := parseArgs(fs, []string{"a", "--addr", "http://h:1", "--", "-b", "--addr"})
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "-b", "--addr"}, pos)
	assert.Equal(t, "http://h:1", cf.addr)
}

func TestStackPath(t *testing.T) {
	assert.Equal(t, "/api/v1/stacks/stacks/app@prod/approve", stackPath("stacks/app@prod", "approve"))
	assert.Equal(t, "/api/v1/stacks/my%20stack", stackPath("my stack", ""))
}
