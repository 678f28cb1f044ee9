package redact_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/lmittmann/tint"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler/redact"
)

const (
	ghToken = "ghp_LeakedGitHubToken0123456789"
	awsKey  = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// handlers are the handlers trueup logs through, writing into a buffer.
var handlers = map[string]func(w io.Writer) slog.Handler{
	"text": func(w io.Writer) slog.Handler {
		return slog.NewTextHandler(w, &slog.HandlerOptions{ReplaceAttr: noTime})
	},
	"json": func(w io.Writer) slog.Handler {
		return slog.NewJSONHandler(w, &slog.HandlerOptions{ReplaceAttr: noTime})
	},
	"tint": func(w io.Writer) slog.Handler {
		return tint.NewHandler(w, &tint.Options{NoColor: true, ReplaceAttr: noTime})
	},
}

func noTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

// stringer hides its secret from %v but not from JSON, which is what the JSON handler writes.
type stringer struct {
	Name   string `json:"name"`
	Secret string `json:"secret"`
}

func (s stringer) String() string { return "stringer " + s.Name }

// shown writes the secret in its String, and nothing in JSON.
type shown struct{ secret string }

func (s shown) String() string { return "shown " + s.secret }

type valuer struct{}

func (valuer) LogValue() slog.Value { return slog.StringValue("resolved " + ghToken) }

type textMarshaler struct{}

func (textMarshaler) MarshalText() ([]byte, error) { return []byte("marshaled " + ghToken), nil }

type nilStringer struct{ s *string }

func (n *nilStringer) String() string { return *n.s }

func TestHandlerRedacts(t *testing.T) {
	tests := []struct {
		name string
		log  func(l *slog.Logger)
		// want are texts the output must hold, to prove what is not secret was written.
		want []string
	}{
		{"message", func(l *slog.Logger) { l.Info("cloning with " + ghToken + " now") }, []string{"cloning with *** now"}},
		{"string attr", func(l *slog.Logger) { l.Info("m", "token", ghToken) }, []string{"token"}},
		{"string attr in the middle", func(l *slog.Logger) { l.Info("m", "url", "https://x:"+ghToken+"@github.com/o/r") }, []string{"https://x:***@github.com/o/r"}},
		{"error attr", func(l *slog.Logger) {
			l.Error("m", "err", fmt.Errorf("clone: %w", errors.New("auth failed for "+ghToken)))
		}, []string{"clone: auth failed for ***"}},
		{"error attr wrapped twice", func(l *slog.Logger) {
			l.Error("m", "err", fmt.Errorf("a: %w", fmt.Errorf("b: %w", errors.New(awsKey))))
		}, []string{"a: b: ***"}},
		{"joined errors", func(l *slog.Logger) {
			l.Error("m", "err", errors.Join(errors.New("one"), errors.New("two "+awsKey)))
		}, []string{"one", "two ***"}},
		{"nested group", func(l *slog.Logger) {
			l.Info("m", slog.Group("run", slog.String("id", "r1"), slog.Group("env", slog.String("AWS_SECRET_ACCESS_KEY", awsKey))))
		}, []string{"r1", "AWS_SECRET_ACCESS_KEY"}},
		{"WithAttrs", func(l *slog.Logger) { l.With("token", ghToken).Info("m", "k", "v") }, []string{"token", "k"}},
		{"WithGroup then WithAttrs", func(l *slog.Logger) {
			l.WithGroup("g").With("token", ghToken).WithGroup("h").Info("m", "key", awsKey)
		}, []string{"token", "key"}},
		{"group name", func(l *slog.Logger) { l.WithGroup("g"+ghToken).Info("m", "k", "v") }, []string{"k"}},
		{"attr key", func(l *slog.Logger) { l.Info("m", ghToken, "v") }, []string{"v"}},
		{"Stringer", func(l *slog.Logger) { l.Info("m", "s", shown{ghToken}) }, []string{"shown ***"}},
		{"struct whose JSON holds it", func(l *slog.Logger) { l.Info("m", "s", stringer{Name: "n", Secret: ghToken}) }, nil},
		{"pointer to struct", func(l *slog.Logger) { l.Info("m", "s", &stringer{Name: "n", Secret: ghToken}) }, nil},
		{"map", func(l *slog.Logger) { l.Info("m", "env", map[string]string{"GITHUB_TOKEN": ghToken}) }, []string{"GITHUB_TOKEN"}},
		{"bytes", func(l *slog.Logger) { l.Info("m", "body", []byte(`{"token":"`+ghToken+`"}`)) }, []string{"token"}},
		{"json.RawMessage", func(l *slog.Logger) { l.Info("m", "body", json.RawMessage(`{"token":"`+ghToken+`"}`)) }, []string{"token"}},
		{"LogValuer", func(l *slog.Logger) { l.Info("m", "v", valuer{}) }, []string{"resolved ***"}},
		{"TextMarshaler", func(l *slog.Logger) { l.Info("m", "v", textMarshaler{}) }, nil},
		{"slice of strings", func(l *slog.Logger) { l.Info("m", "args", []string{"-token", ghToken}) }, []string{"-token"}},
		{"JSON-escaped secret in a string", func(l *slog.Logger) { l.Info("m", "out", `{"k":"`+strings.ReplaceAll(awsKey, "/", `\/`)+`"}`) }, nil},
	}
	for hname, newHandler := range handlers {
		for _, tt := range tests {
			t.Run(hname+"/"+tt.name, func(t *testing.T) {
				s := redact.New()
				s.Add(ghToken, awsKey, strings.ReplaceAll(awsKey, "/", `\/`))
				var buf bytes.Buffer
				tt.log(slog.New(s.Handler(newHandler(&buf))))
				out := buf.String()
				require.NotEmpty(t, out)
				assert.NotContains(t, out, ghToken)
				assert.NotContains(t, out, awsKey)
				assert.NotContains(t, out, "LeakedGitHub", "a fragment of the secret")
				assert.NotContains(t, out, "EXAMPLEKEY", "a fragment of the secret")
				for _, w := range tt.want {
					assert.Contains(t, out, w)
				}
			})
		}
	}
}

func TestHandlerKeepsWhatHoldsNoSecret(t *testing.T) {
	s := redact.New()
	s.Add(ghToken)
	var buf bytes.Buffer
	l := slog.New(s.Handler(slog.NewJSONHandler(&buf, &slog.HandlerOptions{ReplaceAttr: noTime})))
	when := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	l.Info("plain", "n", 42, "u", uint64(7), "f", 1.5, "b", true, "d", 3*time.Second, "t", when,
		"err", errors.New("plain error"), "s", stringer{Name: "n", Secret: "public"}, "nil", nil)
	var got map[string]any
	require.NoError(t, json.Unmarshal(buf.Bytes(), &got))
	assert.Equal(t, map[string]any{
		"level": "INFO", "msg": "plain", "n": 42.0, "u": 7.0, "f": 1.5, "b": true, "d": float64(3 * time.Second),
		"t": "2026-01-02T03:04:05Z", "err": "plain error", "s": map[string]any{"name": "n", "secret": "public"}, "nil": nil,
	}, got)
}

// TestHandlerWritesWhatTheHandlerWould checks that the wrapper, with no secret in the record,
// writes exactly what the wrapped handler writes alone, groups and attached attributes included.
func TestHandlerWritesWhatTheHandlerWould(t *testing.T) {
	for hname, newHandler := range handlers {
		t.Run(hname, func(t *testing.T) {
			s := redact.New()
			s.Add(ghToken)
			var want, got bytes.Buffer
			logs := func(l *slog.Logger) {
				l.Info("top", "a", 1)
				l = l.With("b", "two")
				l.Info("with", "c", 3)
				g := l.WithGroup("g").With("d", 4)
				g.Info("group", "e", 5, slog.Group("inner", "f", 6))
				g.WithGroup("h").Info("deeper", "i", 7)
				g.WithGroup("h").Info("empty group")
				l.WithGroup("").With().Info("nothing added", "j", 8)
				l.Warn("warn", "err", errors.New("e"))
			}
			logs(slog.New(newHandler(&want)))
			logs(slog.New(s.Handler(newHandler(&got))))
			assert.Equal(t, want.String(), got.String())
		})
	}
}

func TestHandlerRedactsSecretsAddedAfterWith(t *testing.T) {
	s := redact.New()
	var buf bytes.Buffer
	l := slog.New(s.Handler(slog.NewTextHandler(&buf, nil))).With("creds", "ASIALATEREGISTERED01").WithGroup("g").With("k", "ASIALATEREGISTERED01")
	s.AddExpiring(time.Now().Add(time.Hour), "ASIALATEREGISTERED01")
	l.Info("m")
	assert.NotContains(t, buf.String(), "ASIALATEREGISTERED01")
	assert.Contains(t, buf.String(), "creds=*** g.k=***")
}

func TestHandlerKeepsErrorsErrors(t *testing.T) {
	s := redact.New()
	s.Add(ghToken)
	var got []slog.Value
	rec := slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == "err" {
			got = append(got, a.Value)
		}
		return a
	}})
	l := slog.New(s.Handler(rec))
	l.Error("m", "err", errors.New("bad "+ghToken))
	l.Error("m", "err", errors.New("bad"))
	require.Len(t, got, 2)
	for _, v := range got {
		_, ok := v.Any().(error)
		assert.True(t, ok, "%T is an error", v.Any())
	}
	assert.Equal(t, "bad ***", got[0].Any().(error).Error())
}

func TestHandlerSurvivesPanickingValues(t *testing.T) {
	s := redact.New()
	s.Add(ghToken)
	var buf bytes.Buffer
	l := slog.New(s.Handler(slog.NewTextHandler(&buf, nil)))
	assert.NotPanics(t, func() { l.Info("m", "v", &nilStringer{}, "token", ghToken) })
	assert.Contains(t, buf.String(), "token=***")
	assert.NotContains(t, buf.String(), ghToken)
}

func TestHandlerEnabled(t *testing.T) {
	s := redact.New()
	var buf bytes.Buffer
	l := slog.New(s.Handler(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn})))
	assert.False(t, l.Enabled(context.Background(), slog.LevelInfo))
	assert.True(t, l.Enabled(context.Background(), slog.LevelWarn))
	l.Info("dropped")
	assert.Empty(t, buf.String())
}
