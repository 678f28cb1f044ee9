package notifier

import (
	"context"
	"log/slog"
	"slices"
	"unicode/utf8"

	"github.com/trueup/trueup/reconciler"
)

// logAddresses is how many resource addresses a log line names; the counts give the rest.
const logAddresses = 5

// logErrorRunes bounds the error text in a log line: Terraform errors can be pages long.
const logErrorRunes = 2000

// Log writes each event as one structured log line. It never fails.
type Log struct {
	l *slog.Logger
}

var (
	_ reconciler.Notifier = (*Log)(nil)
	_ Named               = (*Log)(nil)
)

// NewLog returns a Log writing to l, or to slog.Default() when l is nil.
func NewLog(l *slog.Logger) *Log {
	if l == nil {
		l = slog.Default()
	}
	return &Log{l: l}
}

// Name is "log".
func (n *Log) Name() string { return "log" }

// Notify logs e at warn level for failures, holds and drift, and at info level for good news.
// The message is e.Summary (or "notify" when it is empty); empty fields are left out.
func (n *Log) Notify(ctx context.Context, e reconciler.Event) error {
	msg := e.Summary
	if msg == "" {
		msg = "notify"
	}
	attrs := []slog.Attr{
		slog.String("kind", string(e.Kind)),
		slog.String("stack", e.Stack),
	}
	if e.Revision != "" {
		attrs = append(attrs, slog.String("revision", e.Revision.Short()))
	}
	if e.PullRequest != 0 {
		attrs = append(attrs, slog.Int("pull_request", e.PullRequest))
	}
	if e.Action != "" {
		attrs = append(attrs, slog.String("action", e.Action))
	}
	if e.Reason != "" {
		attrs = append(attrs, slog.String("reason", e.Reason))
	}
	if e.Error != "" {
		attrs = append(attrs, slog.String("error", truncateRunes(e.Error, logErrorRunes)))
	}
	if len(e.Drift) > 0 {
		attrs = append(attrs, slog.Int("drift", len(e.Drift)))
	}
	if len(e.Changes) > 0 {
		attrs = append(attrs, slog.Int("changes", len(e.Changes)))
	}
	if addrs := addresses(e, logAddresses); len(addrs) > 0 {
		attrs = append(attrs, slog.Any("addresses", addrs))
	}
	if e.Seq != 0 {
		attrs = append(attrs, slog.Uint64("seq", e.Seq))
	}
	n.l.LogAttrs(ctx, levelOf(e.Kind), msg, attrs...)
	return nil
}

// levelOf is info for good news (resolved, recovered, a removed stack) and warn for the rest,
// including kinds added later: an unknown event is more likely bad news.
func levelOf(k reconciler.EventKind) slog.Level {
	switch k {
	case reconciler.EventDriftResolved, reconciler.EventApplyRecovered, reconciler.EventStackRemoved:
		return slog.LevelInfo
	default:
		return slog.LevelWarn
	}
}

// addresses returns the first max distinct addresses of e's drift and changes, sorted.
func addresses(e reconciler.Event, max int) []string {
	var all []string
	for _, d := range e.Drift {
		all = append(all, d.Address)
	}
	for _, c := range e.Changes {
		all = append(all, c.Address)
	}
	slices.Sort(all)
	all = slices.Compact(all)
	if len(all) > max {
		all = all[:max]
	}
	return all
}

// truncateRunes cuts s to at most max runes, ending in "…" when it cut.
func truncateRunes(s string, max int) string {
	if max < 1 || utf8.RuneCountInString(s) <= max {
		return s
	}
	n := 0
	for i := range s {
		if n == max-1 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}
