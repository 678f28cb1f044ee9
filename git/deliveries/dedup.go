package deliveries

import (
	"context"
	"log/slog"
)

// Shared records delivery ids where every replica sees them (a database) and reports whether id is
// new. Implementations must be safe for concurrent use.
type Shared func(ctx context.Context, id string) (bool, error)

// Dedup drops redeliveries: by the Shared record when there is one, so a redelivery that reaches
// another replica is dropped there too, and by the ids remembered in memory while that record fails
// (or when there is none).
type Dedup struct {
	recent *Recent
	shared Shared
	log    *slog.Logger
}

// NewDedup remembers the last n ids in memory; shared may be nil. log receives a warning when the
// shared record fails (nil discards).
func NewDedup(n int, shared Shared, log *slog.Logger) *Dedup {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Dedup{recent: NewRecent(n), shared: shared, log: log}
}

// Fresh records id and reports whether it was not seen before.
func (d *Dedup) Fresh(ctx context.Context, id string) bool {
	local := d.recent.Add(id)
	if d.shared == nil {
		return local
	}
	fresh, err := d.shared(ctx, id)
	if err != nil {
		d.log.WarnContext(ctx, "record webhook delivery; deduplicating in memory only", "err", err)
		return local
	}
	return fresh
}
