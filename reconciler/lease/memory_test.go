package lease

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// memStore is a Store in memory, by the caller's clock (synctest's fake one in these tests). down
// makes every call fail, as an unreachable database would.
type memStore struct {
	mu     sync.Mutex
	lease  Lease
	epochs int64
	down   bool
	calls  int
}

var _ Store = (*memStore)(nil)

func (m *memStore) check(ctx context.Context) error {
	m.calls++
	if err := ctx.Err(); err != nil {
		return err
	}
	if m.down {
		return fmt.Errorf("connect: connection refused")
	}
	return nil
}

func (m *memStore) Acquire(ctx context.Context, holder string, ttl time.Duration) (Lease, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return Lease{}, false, err
	}
	now := time.Now()
	if m.lease.Live(now) {
		return m.lease, false, nil
	}
	m.epochs++
	m.lease = Lease{Holder: holder, Epoch: m.epochs, Acquired: now, Renewed: now, Expires: now.Add(ttl)}
	return m.lease, true, nil
}

func (m *memStore) Renew(ctx context.Context, holder string, epoch int64, ttl time.Duration) (Lease, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return Lease{}, err
	}
	now := time.Now()
	if m.lease.Holder != holder || m.lease.Epoch != epoch || !m.lease.Live(now) {
		return Lease{}, fmt.Errorf("renew epoch %d: %w", epoch, ErrLost)
	}
	m.lease.Renewed, m.lease.Expires = now, now.Add(ttl)
	return m.lease, nil
}

func (m *memStore) Release(ctx context.Context, holder string, epoch int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return err
	}
	if m.lease.Holder == holder && m.lease.Epoch == epoch {
		m.lease.Expires = time.Now()
	}
	return nil
}

func (m *memStore) Current(ctx context.Context) (Lease, time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.check(ctx); err != nil {
		return Lease{}, time.Time{}, err
	}
	return m.lease, time.Now(), nil
}

func (m *memStore) setDown(down bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.down = down
}

func (m *memStore) current() Lease {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lease
}
