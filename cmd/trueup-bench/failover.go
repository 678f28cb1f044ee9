package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/trueup/trueup/cmd/internal/proctree"
	"github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/lease"
	"github.com/trueup/trueup/reconciler/pgstore"
	"github.com/trueup/trueup/reconciler/pgstore/pgtest"
)

// Failover is issue 13's: two replicas on one PostgreSQL, the leader killed with kill -9 (with the
// Terraform it started) in the middle of an apply.
type Failover struct {
	LeaseTTLS float64 `json:"lease_ttl_s"`
	// TakeoverS is the time from the kill to the standby's first run (its "apply started").
	TakeoverS float64 `json:"takeover_s"`
}

// PGStore is the PostgreSQL store's cost per write.
type PGStore struct {
	// PutStackMS is one PutStack through a fenced view (as the leader writes), median.
	PutStackMS float64 `json:"put_stack_ms"`
}

// benchFailover runs a real PostgreSQL, measures PutStack, then kills a leader reps times.
func benchFailover(ctx context.Context, e *env, reps int, res *Results) error {
	srv, err := pgtest.Launch()
	if err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	defer srv.Shutdown()
	if err := benchPutStack(ctx, srv, res); err != nil {
		return err
	}
	res.Failover.LeaseTTLS = lease.DefaultTTL.Seconds()
	var samples []float64
	for i := range min(reps, 3) {
		s, err := oneFailover(ctx, e, srv, i)
		if err != nil {
			return fmt.Errorf("failover %d: %w", i, err)
		}
		samples = append(samples, round(s, 2))
		e.logf("failover %d: the standby's first run %.2fs after kill -9 (lease TTL %s)", i, s, lease.DefaultTTL)
	}
	res.Failover.TakeoverS = median(samples)
	res.note("failover", map[string]any{"takeover_s": samples})
	return nil
}

// benchPutStack times PutStack of a stack with a run and a drift episode, through a fenced view.
func benchPutStack(ctx context.Context, srv *pgtest.Server, res *Results) error {
	dsn, err := srv.CreateDatabase("bench_put_stack")
	if err != nil {
		return err
	}
	store, err := pgstore.Open(ctx, dsn, pgstore.Options{})
	if err != nil {
		return err
	}
	defer store.Close()
	l, won, err := store.Acquire(ctx, "bench", time.Hour)
	if err != nil || !won {
		return fmt.Errorf("take the lease: won %v, %w", won, err)
	}
	fenced := store.Fenced(pgstore.Fence{Holder: l.Holder, Epoch: l.Epoch})
	var samples []float64
	for i := range 300 {
		st := reconciler.StackState{
			Name: fmt.Sprintf("stacks/s%03d", i%50), Dir: "stacks/x", Workspace: "default", AppliedRev: "0123456789abcdef0123456789abcdef01234567",
			LastRun: &reconciler.RunRecord{ID: strconv.Itoa(i), Kind: reconciler.RunApply, Result: reconciler.ResultSucceeded, Started: time.Now()},
			Drift:   reconciler.DriftState{LastChecked: time.Now()},
		}
		start := time.Now()
		if err := fenced.PutStack(ctx, st); err != nil {
			return fmt.Errorf("put stack: %w", err)
		}
		if i >= 20 { // the first ones warm the pool
			samples = append(samples, ms(time.Since(start)))
		}
	}
	res.PGStore.PutStackMS = round(median(samples), 2)
	res.note("pgstore", map[string]any{"put_stack_ms_p90": percentile(samples, 0.9)})
	return nil
}

// oneFailover starts two replicas, kills the leader in the middle of a slow apply, and returns the
// seconds from the kill to the standby's first run.
func oneFailover(ctx context.Context, e *env, srv *pgtest.Server, i int) (float64, error) {
	dsn, err := srv.CreateDatabase(fmt.Sprintf("bench_failover_%d", i))
	if err != nil {
		return 0, err
	}
	dir, err := e.dir(fmt.Sprintf("failover-%d", i))
	if err != nil {
		return 0, err
	}
	started, gate := filepath.Join(dir, "started"), filepath.Join(dir, "gate")
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		return 0, err
	}
	defer os.Remove(gate)
	repo, err := newGitRepo(dir)
	if err != nil {
		return 0, err
	}
	slow := fmt.Sprintf("resource \"terraform_data\" \"slow\" {\n  provisioner \"local-exec\" {\n    command = %q\n  }\n}\n",
		fmt.Sprintf("touch %q; while [ -e %q ]; do sleep 0.1; done", started, gate))
	if _, err := repo.commitAndPush("a slow stack", map[string]string{"stacks/slow/main.tf": slow}); err != nil {
		return 0, err
	}
	c := daemonConfig{RepoURL: repo.URL(), PollInterval: time.Second, Workers: 2,
		Extra: "store:\n  postgres:\n    dsn_env: TRUEUP_DATABASE_URL\n", Env: []string{"TRUEUP_DATABASE_URL=" + dsn}}
	a, err := e.startDaemon(ctx, fmt.Sprintf("failover-%d-a", i), c)
	if err != nil {
		return 0, err
	}
	defer a.kill()
	if err := waitFor(ctx, "the first replica to lead", time.Minute, 50*time.Millisecond, func() (bool, error) { return a.logs.count("leading", time.Time{}) > 0, nil }); err != nil {
		return 0, err
	}
	b, err := e.startDaemon(ctx, fmt.Sprintf("failover-%d-b", i), c)
	if err != nil {
		return 0, err
	}
	defer b.stop()
	if err := waitFor(ctx, "the leader's apply", 2*time.Minute, 20*time.Millisecond, func() (bool, error) { return exists(started), nil }); err != nil {
		return 0, err
	}
	killed := crash(a)
	var first time.Time
	err = waitFor(ctx, "the standby's first run", 2*time.Minute, 20*time.Millisecond, func() (bool, error) {
		runs := b.logs.find("apply started", time.Time{})
		if len(runs) == 0 {
			return false, nil
		}
		first = runs[0].Time
		return true, nil
	})
	if err != nil {
		return 0, err
	}
	return first.Sub(killed).Seconds(), nil
}

// crash kills the daemon and every process below it with SIGKILL, as a machine that dies, and returns when.
func crash(d *daemon) time.Time {
	at := proctree.Crash(d.pid())
	d.kill()
	return at
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// percentile is the p-quantile (0..1) of xs by the nearest rank.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}
