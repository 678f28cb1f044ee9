package main

import (
	"context"
	"fmt"
	"time"
)

// MergeDuringDrift is how much later a merge's apply starts while a drift sweep of every stack runs
// than on an idle daemon (issue 12: at most one run's duration).
type MergeDuringDrift struct {
	Stacks  int     `json:"stacks"`
	IdleMS  float64 `json:"idle_ms"`
	BusyMS  float64 `json:"busy_ms"`
	DelayMS float64 `json:"delay_ms"`
	// RunMS is one run's duration: the idle merge's apply, from its start to its end.
	RunMS float64 `json:"run_ms"`
}

// mergeDuringDrift merges a change to one stack on an idle daemon, then queues a drift check of
// every stack and merges a change to another one, and compares when their applies start.
func (m *mergeBench) mergeDuringDrift(ctx context.Context, res *Results) error {
	idle, run, err := m.applyStarts(ctx, 11, false)
	if err != nil {
		return err
	}
	for _, s := range names(m.in.Stacks) {
		if err := m.d.reconcile(ctx, s); err != nil {
			return err
		}
	}
	busy, _, err := m.applyStarts(ctx, 13, true)
	if err != nil {
		return err
	}
	if err := waitIdle(ctx, m.d, 2*time.Second, 15*time.Minute); err != nil {
		return fmt.Errorf("the drift sweep: %w", err)
	}
	res.MergeDuringDrift = MergeDuringDrift{Stacks: m.in.Stacks, IdleMS: ms(idle), BusyMS: ms(busy), DelayMS: ms(busy - idle), RunMS: ms(run)}
	res.note("merge_during_drift", res.MergeDuringDrift)
	m.e.logf("  merge during a %d-stack drift sweep: apply started %s after the webhook (idle: %s; one run %s)",
		m.in.Stacks, busy.Round(time.Millisecond), idle.Round(time.Millisecond), run.Round(time.Millisecond))
	return nil
}

// applyStarts merges a change to stack idx and returns how long after the push webhook its apply
// started and how long that apply ran. busy sends the webhook at once, without waiting for the
// daemon to be idle.
func (m *mergeBench) applyStarts(ctx context.Context, idx int, busy bool) (start, run time.Duration, err error) {
	stack := stackName(idx)
	if _, err := m.repo.commit(stack+": during drift", map[string]string{stack + "/main.tf": m.in.Stack(idx, fmt.Sprint("merge-", busy))}); err != nil {
		return 0, 0, err
	}
	before := m.head
	if _, err := m.repo.git("push", "--quiet", "origin", "main"); err != nil {
		return 0, 0, err
	}
	if m.head, err = m.repo.rev("main"); err != nil {
		return 0, 0, err
	}
	if !busy {
		if err := waitIdle(ctx, m.d, 500*time.Millisecond, time.Minute); err != nil {
			return 0, 0, err
		}
	}
	t0 := time.Now()
	if err := m.d.webhook(ctx, "push", pushEvent("refs/heads/main", before, m.head)); err != nil {
		return 0, 0, err
	}
	var started, finished logEntry
	err = waitFor(ctx, stack+" applied", 10*time.Minute, 50*time.Millisecond, func() (bool, error) {
		s := m.d.logs.find("apply started", t0, "stack", stack)
		f := m.d.logs.find("apply finished", t0, "stack", stack)
		if len(s) == 0 || len(f) == 0 {
			return false, nil
		}
		started, finished = s[0], f[0]
		return true, nil
	})
	if err != nil {
		return 0, 0, err
	}
	return started.Time.Sub(t0), finished.Time.Sub(started.Time), nil
}
