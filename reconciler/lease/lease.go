// Package lease elects one leader among trueup replicas that share a database. The leader holds a
// lease row with a time to live, renews it well before it runs out, and carries the lease's epoch
// (a fencing token that grows with every new leader) on every write that matters, so a store
// refuses the writes of a replica that lost the lease even if it has not noticed yet.
//
// The database's clock decides when a lease has run out (every replica asks the same clock); the
// holder's own monotonic clock decides when it must stop acting as leader: it gives up at the time
// it sent its last successful renewal plus the TTL, which is never later than the moment the
// database lets another replica take over.
package lease

import (
	"context"
	"errors"
	"time"
)

// ErrLost is returned by Renew when the lease is no longer the caller's: it ran out, or another
// replica holds it now.
var ErrLost = errors.New("lease lost")

// Lease is the leader's lease as the database records it.
type Lease struct {
	// Holder names the replica holding the lease (unique per process: host, pid and a random part).
	Holder string `json:"holder"`
	// Epoch is the fencing token: one greater for every new leader, never reused.
	Epoch int64 `json:"epoch"`
	// Acquired is when Holder took the lease at Epoch; Renewed when it last renewed it.
	Acquired time.Time `json:"acquired"`
	Renewed  time.Time `json:"renewed"`
	// Expires is when the lease runs out unless renewed, by the database's clock.
	Expires time.Time `json:"expires"`
}

// Live reports whether the lease was held at now (by the database's clock).
func (l Lease) Live(now time.Time) bool { return l.Holder != "" && now.Before(l.Expires) }

// Store keeps the lease. Implementations must be safe for concurrent use, and every call is atomic:
// two replicas that call Acquire at once never both get the lease.
type Store interface {
	// Acquire takes the lease for holder when nobody holds a live one, with a new epoch one greater
	// than any before, for ttl from now; it returns the lease and true. When another holder's lease
	// is live, it returns that lease and false, changing nothing.
	Acquire(ctx context.Context, holder string, ttl time.Duration) (Lease, bool, error)
	// Renew extends holder's lease at epoch to ttl from now. It fails with an error wrapping ErrLost
	// when the lease has run out or is no longer holder's at epoch, changing nothing.
	Renew(ctx context.Context, holder string, epoch int64, ttl time.Duration) (Lease, error)
	// Release ends holder's lease at epoch now (a clean stop), so a standby takes over at once.
	// Releasing a lease that is not holder's at epoch changes nothing and is not an error.
	Release(ctx context.Context, holder string, epoch int64) error
	// Current returns the lease as it stands, with the database's time now; a zero Lease when none
	// was ever taken.
	Current(ctx context.Context) (Lease, time.Time, error)
}
