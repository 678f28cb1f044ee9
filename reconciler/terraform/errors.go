package terraform

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/trueup/trueup/reconciler"
)

// maxErrorText bounds the Terraform output kept in an error: it ends up in PR comments and alerts.
const maxErrorText = 8000

// transientMarkers are pieces of Terraform error text that mean the network, not the
// configuration, failed: the same run may succeed later.
var transientMarkers = []string{
	"connection refused",
	"connection reset by peer",
	"i/o timeout",
	"TLS handshake timeout",
	"no such host",
	"network is unreachable",
	"temporary failure in name resolution",
	"Client.Timeout exceeded",
	"unexpected EOF",
	"502 Bad Gateway",
	"503 Service Unavailable",
	"504 Gateway Timeout",
}

// terraformError is a failed Terraform command: its message is Terraform's error text, and it
// unwraps to terraform-exec's error.
type terraformError struct {
	text string
	err  error
}

func (e *terraformError) Error() string { return e.text }
func (e *terraformError) Unwrap() error { return e.err }

// classify turns a failed Terraform call into a *reconciler.Error of the right kind.
// A canceled ctx is KindCanceled (trueup stopped the run); a ctx deadline is KindTransient
// (the run took too long and may succeed next time).
func classify(ctx context.Context, op, stack string, err error, stderr string) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		kind := reconciler.KindCanceled
		if errors.Is(ctxErr, context.DeadlineExceeded) {
			kind = reconciler.KindTransient
		}
		return reconciler.Errorf(kind, op, fmt.Errorf("%s: terraform %s interrupted: %w", stack, op, ctxErr))
	}
	text := errorText(stderr)
	if text == "" {
		text = errorText(err.Error())
	}
	kind := reconciler.KindFailed
	switch {
	case strings.Contains(text, "Error acquiring the state lock"):
		kind = reconciler.KindLocked
	case containsAny(text, transientMarkers):
		kind = reconciler.KindTransient
	}
	return reconciler.Errorf(kind, op, &terraformError{text: stack + ": " + text, err: err})
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)

// errorText is Terraform's output cleaned for people: no color codes, no surrounding blank
// lines, starting at the first "Error:" when there is one, and bounded in size.
func errorText(s string) string {
	s = ansi.ReplaceAllString(s, "")
	if i := strings.Index(s, "Error: "); i > 0 {
		s = s[i:]
	}
	s = strings.TrimSpace(s)
	if len(s) > maxErrorText {
		s = s[:maxErrorText] + "\n[truncated]"
	}
	return s
}

func containsAny(s string, subs []string) bool {
	s = strings.ToLower(s)
	for _, sub := range subs {
		if strings.Contains(s, strings.ToLower(sub)) {
			return true
		}
	}
	return false
}
