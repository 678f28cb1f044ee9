package notifier

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
)

// logLine runs one event through a Log with a JSON handler and returns the decoded line.
func logLine(t *testing.T, e reconciler.Event) map[string]any {
	t.Helper()
	var buf bytes.Buffer
	l := NewLog(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	require.NoError(t, l.Notify(context.Background(), e))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 1, "one event is one log line")
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &m))
	return m
}

func TestLogDriftDetected(t *testing.T) {
	e := reconciler.Event{
		Seq:         7,
		Kind:        reconciler.EventDriftDetected,
		Stack:       "network",
		Revision:    "0123456789abcdef0123456789abcdef01234567",
		Time:        time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Summary:     "network drifted: 7 resources changed outside Terraform",
		Action:      "alert only",
		PullRequest: 12,
	}
	for i := range 6 {
		e.Drift = append(e.Drift, reconciler.ResourceDrift{Address: fmt.Sprintf("aws_x.r%d", i), Change: "updated"})
	}
	// r0 is both drifted and changed: it is one address, not two.
	e.Changes = []reconciler.ResourceChange{{Address: "aws_x.r0", Action: reconciler.ActionUpdate}, {Address: "aws_a.first", Action: reconciler.ActionCreate}}

	m := logLine(t, e)
	assert.Equal(t, "WARN", m["level"])
	assert.Equal(t, e.Summary, m["msg"])
	assert.Equal(t, "drift_detected", m["kind"])
	assert.Equal(t, "network", m["stack"])
	assert.Equal(t, "01234567", m["revision"])
	assert.Equal(t, "alert only", m["action"])
	assert.EqualValues(t, 12, m["pull_request"])
	assert.EqualValues(t, 6, m["drift"])
	assert.EqualValues(t, 2, m["changes"])
	assert.EqualValues(t, 7, m["seq"])
	assert.Equal(t, []any{"aws_a.first", "aws_x.r0", "aws_x.r1", "aws_x.r2", "aws_x.r3"}, m["addresses"])
	assert.NotContains(t, m, "error")
	assert.NotContains(t, m, "reason")
}

func TestLogFailureAndHold(t *testing.T) {
	long := strings.Repeat("é", logErrorRunes+100)
	m := logLine(t, reconciler.Event{
		Kind:   reconciler.EventCorrectionHeld,
		Stack:  "app@prod",
		Reason: "would destroy 3 resources",
		Error:  long,
	})
	assert.Equal(t, "WARN", m["level"])
	assert.Equal(t, "notify", m["msg"], "an event without a summary still gets a message")
	assert.Equal(t, "would destroy 3 resources", m["reason"])
	errText, ok := m["error"].(string)
	require.True(t, ok)
	assert.Len(t, []rune(errText), logErrorRunes, "the error is cut to the limit")
	assert.True(t, strings.HasSuffix(errText, "…"))
	assert.NotContains(t, m, "revision")
	assert.NotContains(t, m, "addresses")
}

func TestLogLevels(t *testing.T) {
	tests := []struct {
		kind reconciler.EventKind
		want string
	}{
		{reconciler.EventDriftDetected, "WARN"},
		{reconciler.EventDriftChanged, "WARN"},
		{reconciler.EventDriftResolved, "INFO"},
		{reconciler.EventCorrectionHeld, "WARN"},
		{reconciler.EventCorrectionFailed, "WARN"},
		{reconciler.EventApplyFailed, "WARN"},
		{reconciler.EventApplyRecovered, "INFO"},
		{reconciler.EventApplyHeld, "WARN"},
		{reconciler.EventRunInterrupted, "WARN"},
		{reconciler.EventStackRemoved, "INFO"},
		{reconciler.EventHookFailed, "WARN"},
		{"some_future_kind", "WARN"},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			m := logLine(t, reconciler.Event{Kind: tt.kind, Stack: "s", Summary: "x"})
			assert.Equal(t, tt.want, m["level"])
		})
	}
}

func TestTruncateRunes(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"", 3, ""},
		{"abc", 3, "abc"},
		{"abcd", 3, "ab…"},
		{"héllo", 4, "hél…"},
		{"日本語テキスト", 2, "日…"},
		{"ab", 1, "…"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, truncateRunes(tt.in, tt.max), "truncateRunes(%q, %d)", tt.in, tt.max)
	}
}
