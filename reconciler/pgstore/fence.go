package pgstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"

	"github.com/trueup/trueup/reconciler"
)

// Fence is the lease a fenced view writes under: the leader's holder name and epoch.
type Fence struct {
	Holder string
	Epoch  int64
	// OnFenced, when set, is called once, by the first write the view refuses (in that write's
	// goroutine, before the write returns): the replica lost the lease and must stop leading.
	OnFenced func()
}

// fenceState is a view's fence and the once of its OnFenced.
type fenceState struct {
	Fence
	once sync.Once
}

// Fenced returns a view of the store whose writes (PutStack, StartRun, FinishRun, Enqueue, Ack,
// PutBranchPlan, DeleteBranchPlans, PutPull, DeletePull, RecordMerge, AddIntent, DeleteIntent,
// PutTerraformState) happen only under f's lease. Each write's transaction first locks the lease
// row FOR KEY SHARE where it is f.Holder's at f.Epoch and has not expired by the database's clock;
// when no such row exists, the write changes nothing and fails with an error wrapping
// reconciler.ErrFenced. The lock holds until the write commits, and a takeover changes the
// epoch, part of the lease's key (migration 0002), so it waits for the write: a write either
// commits before the takeover or is refused. A renewal changes no key column and never waits for
// writes. Reads, the lease's own methods and RecordDelivery are not fenced.
//
// The view is a *Store sharing s's pool. Closing the view ends the view only; closing s closes the
// pool and ends every view.
func (s *Store) Fenced(f Fence) reconciler.Store { return s.fencedView(f) }

func (s *Store) fencedView(f Fence) *Store {
	return &Store{shared: s.shared, fence: &fenceState{Fence: f}, closed: new(atomic.Bool)}
}

// check locks the lease row in tx when it is the fence's and live, or fails with ErrFenced.
func (f *fenceState) check(ctx context.Context, tx pgx.Tx, schema string) error {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM `+schema+`lease
		WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires > clock_timestamp() FOR KEY SHARE`,
		leaseName, f.Holder, f.Epoch).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		if f.OnFenced != nil {
			f.once.Do(f.OnFenced)
		}
		return fmt.Errorf("lease of %s at epoch %d: %w", f.Holder, f.Epoch, reconciler.ErrFenced)
	}
	if err != nil {
		return fmt.Errorf("check lease: %w", err)
	}
	return nil
}
