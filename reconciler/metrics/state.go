package metrics

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trueup/trueup/reconciler"
)

var (
	stackDriftedDesc = prometheus.NewDesc("trueup_stack_drifted",
		"1 while the stack's real infrastructure differs from its applied revision, else 0.", []string{"stack"}, nil)
	stackHeldDesc = prometheus.NewDesc("trueup_stack_held",
		"1 while an apply of the stack waits for approval (trueup approve), else 0.", []string{"stack"}, nil)
	stackLastRunSuccessDesc = prometheus.NewDesc("trueup_stack_last_run_success",
		"1 when the stack's last run on main succeeded (or had nothing to do), 0 when it failed, was held or interrupted; absent before the first run.",
		[]string{"stack"}, nil)
	heldAppliesDesc = prometheus.NewDesc("trueup_held_applies",
		"Applies waiting for approval.", nil, nil)
	queueDepthDesc = prometheus.NewDesc("trueup_queue_depth",
		"Stacks waiting for a worker.", nil, nil)
	lastPollDesc = prometheus.NewDesc("trueup_last_successful_poll_timestamp_seconds",
		"Unix time of the last successful poll of the git remote; 0 before the first.", nil, nil)
)

// stateCollector reads the stacks' current state from a Source when collected, for one scrape:
// ctx is the scrape's.
type stateCollector struct {
	src Source
	ctx context.Context
}

// Describe implements prometheus.Collector.
func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		stackDriftedDesc, stackHeldDesc, stackLastRunSuccessDesc, heldAppliesDesc, queueDepthDesc, lastPollDesc,
	} {
		ch <- d
	}
}

// Collect implements prometheus.Collector. Stacks that left the repository are not reported: they
// are never applied again, so their last state would alert forever.
func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(queueDepthDesc, prometheus.GaugeValue, float64(c.src.QueueLen()))
	last := 0.0
	if h := c.src.Health(); !h.LastPoll.IsZero() {
		last = float64(h.LastPoll.UnixNano()) / 1e9
	}
	ch <- prometheus.MustNewConstMetric(lastPollDesc, prometheus.GaugeValue, last)

	stacks, err := c.src.Stacks(c.ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(stackDriftedDesc, err)
		return
	}
	held := 0
	for _, s := range stacks {
		if s.Removed {
			continue
		}
		ch <- prometheus.MustNewConstMetric(stackDriftedDesc, prometheus.GaugeValue, boolValue(s.Drift.Drifted), s.Name)
		ch <- prometheus.MustNewConstMetric(stackHeldDesc, prometheus.GaugeValue, boolValue(s.Held != nil), s.Name)
		if s.Held != nil {
			held++
		}
		if s.LastRun != nil && s.LastRun.Result != reconciler.ResultRunning {
			ok := s.LastRun.Result == reconciler.ResultSucceeded || s.LastRun.Result == reconciler.ResultNoChanges
			ch <- prometheus.MustNewConstMetric(stackLastRunSuccessDesc, prometheus.GaugeValue, boolValue(ok), s.Name)
		}
	}
	ch <- prometheus.MustNewConstMetric(heldAppliesDesc, prometheus.GaugeValue, float64(held))
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
