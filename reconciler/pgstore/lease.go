package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/trueup/trueup/reconciler/lease"
)

// leaseName is the lease row of the leader.
const leaseName = "leader"

// leaseColumns are the lease's columns, in the order scanLease reads them.
const leaseColumns = `holder, epoch, acquired, renewed, expires`

// Acquire takes the leader's lease for holder, for ttl from the database's now, when nobody holds a
// live one, with an epoch one greater than the last (1 for the first). It is one statement: an
// insert of the row, or an update of it where it has expired; two acquirers at once never both
// win (the second waits for the first's row lock, then finds the lease live). A live lease is never
// taken again, not even by its own holder: every true is a new epoch. The lease row is never
// deleted, so epochs are never reused.
func (s *Store) Acquire(ctx context.Context, holder string, ttl time.Duration) (lease.Lease, bool, error) {
	if ttl <= 0 {
		return lease.Lease{}, false, fmt.Errorf("acquire lease for %s: ttl %s is not positive", holder, ttl)
	}
	var l lease.Lease
	won := false
	err := s.call(ctx, func(ctx context.Context) error {
		row := s.pool.QueryRow(ctx, s.q(`INSERT INTO {s}lease AS l (name, holder, epoch, acquired, renewed, expires)
			SELECT $1, $2, 1, t, t, t + $3 * interval '1 microsecond' FROM (SELECT clock_timestamp() AS t) now
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, epoch = l.epoch + 1,
				acquired = excluded.acquired, renewed = excluded.renewed, expires = excluded.expires
			WHERE l.expires <= clock_timestamp()
			RETURNING `+leaseColumns), leaseName, holder, ttl.Microseconds())
		err := scanLease(row, &l)
		if err == nil {
			won = true
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		row = s.pool.QueryRow(ctx, s.q(`SELECT `+leaseColumns+` FROM {s}lease WHERE name = $1`), leaseName)
		return scanLease(row, &l)
	})
	if err != nil {
		return lease.Lease{}, false, fmt.Errorf("acquire lease for %s: %w", holder, err)
	}
	return l, won, nil
}

// Renew extends holder's live lease at epoch to ttl from the database's now. It fails with an
// error wrapping lease.ErrLost, changing nothing, when the lease has run out or is not holder's at
// epoch. It does not wait for the fenced writes in flight (see Fenced).
func (s *Store) Renew(ctx context.Context, holder string, epoch int64, ttl time.Duration) (lease.Lease, error) {
	if ttl <= 0 {
		return lease.Lease{}, fmt.Errorf("renew lease of %s at epoch %d: ttl %s is not positive", holder, epoch, ttl)
	}
	var l lease.Lease
	err := s.call(ctx, func(ctx context.Context) error {
		row := s.pool.QueryRow(ctx, s.q(`UPDATE {s}lease SET renewed = t, expires = t + $4 * interval '1 microsecond'
			FROM (SELECT clock_timestamp() AS t) now
			WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires > t
			RETURNING `+leaseColumns), leaseName, holder, epoch, ttl.Microseconds())
		err := scanLease(row, &l)
		if errors.Is(err, pgx.ErrNoRows) {
			return lease.ErrLost
		}
		return err
	})
	if err != nil {
		return lease.Lease{}, fmt.Errorf("renew lease of %s at epoch %d: %w", holder, epoch, err)
	}
	return l, nil
}

// Release ends holder's lease at epoch now, so the next Acquire takes it at once. Fenced writes
// under the lease already in flight may still commit (the takeover waits for them). A lease that
// is not holder's at epoch, or has run out, is left as it is, without an error.
func (s *Store) Release(ctx context.Context, holder string, epoch int64) error {
	err := s.call(ctx, func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, s.q(`UPDATE {s}lease SET expires = clock_timestamp()
			WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires > clock_timestamp()`), leaseName, holder, epoch)
		return err
	})
	if err != nil {
		return fmt.Errorf("release lease of %s at epoch %d: %w", holder, epoch, err)
	}
	return nil
}

// Current returns the lease as it stands (a zero Lease when none was ever taken) and the
// database's time now.
func (s *Store) Current(ctx context.Context) (lease.Lease, time.Time, error) {
	var (
		l   lease.Lease
		now time.Time
	)
	err := s.call(ctx, func(ctx context.Context) error {
		var (
			holder                     *string
			epoch                      *int64
			acquired, renewed, expires *time.Time
		)
		err := s.pool.QueryRow(ctx, s.q(`SELECT clock_timestamp(), `+leaseColumns+`
			FROM (SELECT 1) one LEFT JOIN {s}lease ON name = $1`), leaseName).
			Scan(&now, &holder, &epoch, &acquired, &renewed, &expires)
		if err != nil || holder == nil {
			return err
		}
		l = lease.Lease{Holder: *holder, Epoch: *epoch, Acquired: acquired.UTC(), Renewed: renewed.UTC(), Expires: expires.UTC()}
		return nil
	})
	if err != nil {
		return lease.Lease{}, time.Time{}, fmt.Errorf("read lease: %w", err)
	}
	return l, now.UTC(), nil
}

// scanLease reads leaseColumns into l, in UTC.
func scanLease(row pgx.Row, l *lease.Lease) error {
	if err := row.Scan(&l.Holder, &l.Epoch, &l.Acquired, &l.Renewed, &l.Expires); err != nil {
		return err
	}
	l.Acquired, l.Renewed, l.Expires = l.Acquired.UTC(), l.Renewed.UTC(), l.Expires.UTC()
	return nil
}
