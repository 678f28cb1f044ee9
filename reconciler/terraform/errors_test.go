package terraform

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
)

func TestClassify(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithTimeout(context.Background(), 0)
	defer cancel2()
	tests := []struct {
		name   string
		ctx    context.Context
		stderr string
		kind   reconciler.ErrorKind
		text   string
	}{
		{"failed", context.Background(), "\nError: Unsupported argument\n\n  on main.tf line 2:\n", reconciler.KindFailed, "s: Error: Unsupported argument\n\n  on main.tf line 2:"},
		{"locked", context.Background(), "\nError: Error acquiring the state lock\n\nError message: resource temporarily unavailable\n", reconciler.KindLocked, "Error acquiring the state lock"},
		{"network", context.Background(), "Error: Failed to get existing workspaces: dial tcp 10.0.0.1:443: i/o timeout", reconciler.KindTransient, "i/o timeout"},
		{"dns", context.Background(), "Error: error configuring S3 Backend: lookup s3.amazonaws.com: no such host", reconciler.KindTransient, "no such host"},
		{"ansi stripped", context.Background(), "\x1b[31mError: \x1b[0mbad", reconciler.KindFailed, "s: Error: bad"},
		{"no stderr", context.Background(), "", reconciler.KindFailed, "exit status 1"},
		{"canceled", canceled, "Error: Interrupted", reconciler.KindCanceled, "interrupted: context canceled"},
		{"deadline", expired, "", reconciler.KindTransient, "context deadline exceeded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cause := errors.New("exit status 1")
			err := classify(tt.ctx, "plan", "s", cause, tt.stderr)
			var re *reconciler.Error
			require.ErrorAs(t, err, &re)
			assert.Equal(t, tt.kind, re.Kind)
			assert.Equal(t, "plan", re.Op)
			assert.Contains(t, err.Error(), tt.text)
			assert.NotContains(t, err.Error(), "\x1b")
		})
	}
}

func TestErrorTextIsBounded(t *testing.T) {
	text := errorText("Error: " + strings.Repeat("x", 3*maxErrorText))
	assert.Less(t, len(text), maxErrorText+100)
	assert.True(t, strings.HasSuffix(text, "[truncated]"))
}
