package metrics

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
)

// fakeSource is a hand-written Source with Func fields.
type fakeSource struct {
	StacksFunc   func(ctx context.Context) ([]reconciler.StackStatus, error)
	HealthFunc   func() reconciler.Health
	QueueLenFunc func() int
}

var _ Source = (*fakeSource)(nil)

func (f *fakeSource) Stacks(ctx context.Context) ([]reconciler.StackStatus, error) {
	if f.StacksFunc == nil {
		return nil, nil
	}
	return f.StacksFunc(ctx)
}

func (f *fakeSource) Health() reconciler.Health {
	if f.HealthFunc == nil {
		return reconciler.Health{}
	}
	return f.HealthFunc()
}

func (f *fakeSource) QueueLen() int {
	if f.QueueLenFunc == nil {
		return 0
	}
	return f.QueueLenFunc()
}

// scrape fetches the handler's exposition and returns each sample line's value by its series,
// e.g. `trueup_stack_drifted{stack="app"}`, and the body.
func scrape(t *testing.T, h http.Handler) (map[string]float64, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	samples := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(rec.Body.String()))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		require.Positive(t, i, line)
		v, err := strconv.ParseFloat(line[i+1:], 64)
		require.NoError(t, err, line)
		samples[line[:i]] = v
	}
	return samples, rec.Body.String()
}

func TestEverySeriesIsExposed(t *testing.T) {
	m := New(prometheus.NewRegistry())
	m.RunFinished(reconciler.RunRecord{Stack: "app", Kind: reconciler.RunApply, Result: reconciler.ResultSucceeded})
	_, body := scrape(t, m.Handler(&fakeSource{}))
	for _, want := range []string{
		"# TYPE trueup_runs_total counter",
		"# TYPE trueup_terraform_plan_duration_seconds histogram",
		"# TYPE trueup_terraform_apply_duration_seconds histogram",
		"# TYPE trueup_git_poll_duration_seconds histogram",
		"# TYPE trueup_git_poll_failures_total counter",
		"# TYPE trueup_notification_failures_total counter",
		"# TYPE trueup_held_applies gauge",
		"# TYPE trueup_queue_depth gauge",
		"# TYPE trueup_last_successful_poll_timestamp_seconds gauge",
		"# TYPE go_goroutines gauge",
		"# TYPE process_cpu_seconds_total counter",
	} {
		assert.Contains(t, body, want)
	}
}

func TestEventsMoveTheirSeries(t *testing.T) {
	m := New(prometheus.NewRegistry())
	h := m.Handler(&fakeSource{})
	before, _ := scrape(t, h)
	assert.Zero(t, before["trueup_git_poll_failures_total"])
	assert.Zero(t, before["trueup_terraform_plan_duration_seconds_count"])

	m.RunFinished(reconciler.RunRecord{Stack: "stacks/app", Kind: reconciler.RunApply, Result: reconciler.ResultFailed})
	m.RunFinished(reconciler.RunRecord{Stack: "stacks/app", Kind: reconciler.RunApply, Result: reconciler.ResultFailed})
	m.RunFinished(reconciler.RunRecord{Stack: "stacks/app", Kind: reconciler.RunDrift, Result: reconciler.ResultNoChanges})
	m.TerraformDuration("plan", 3*time.Second)
	m.TerraformDuration("plan", 40*time.Second)
	m.TerraformDuration("apply", 25*time.Minute)
	m.TerraformDuration("init", time.Hour) // not a phase with a histogram
	m.Polled(200*time.Millisecond, nil)
	m.Polled(2*time.Second, errors.New("connection refused"))
	m.DeliveryFailed()

	after, _ := scrape(t, h)
	assert.Equal(t, 2.0, after[`trueup_runs_total{kind="apply",result="failed",stack="stacks/app"}`])
	assert.Equal(t, 1.0, after[`trueup_runs_total{kind="drift",result="no_changes",stack="stacks/app"}`])
	assert.Equal(t, 2.0, after["trueup_terraform_plan_duration_seconds_count"])
	assert.Equal(t, 43.0, after["trueup_terraform_plan_duration_seconds_sum"])
	assert.Equal(t, 1.0, after[`trueup_terraform_plan_duration_seconds_bucket{le="5"}`])
	assert.Equal(t, 1.0, after["trueup_terraform_apply_duration_seconds_count"])
	assert.Equal(t, 1500.0, after["trueup_terraform_apply_duration_seconds_sum"])
	assert.Equal(t, 1.0, after[`trueup_terraform_apply_duration_seconds_bucket{le="1800"}`])
	assert.Zero(t, after[`trueup_terraform_apply_duration_seconds_bucket{le="1200"}`])
	assert.Equal(t, 2.0, after["trueup_git_poll_duration_seconds_count"])
	assert.Equal(t, 1.0, after["trueup_git_poll_failures_total"])
	assert.Equal(t, 1.0, after["trueup_notification_failures_total"])
}

func TestStackStateIsReadAtScrapeTime(t *testing.T) {
	lastPoll := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	stacks := []reconciler.StackStatus{
		{Name: "network", Drift: reconciler.DriftState{Drifted: true},
			LastRun: &reconciler.RunRecord{Result: reconciler.ResultNoChanges}},
		{Name: "stacks/app", Held: &reconciler.Hold{Revision: "0123456789"},
			LastRun: &reconciler.RunRecord{Result: reconciler.ResultHeld}},
		{Name: "stacks/db", LastRun: &reconciler.RunRecord{Result: reconciler.ResultFailed}},
		{Name: "fresh"},
		{Name: "old", Removed: true, Drift: reconciler.DriftState{Drifted: true}},
	}
	queue := 3
	src := &fakeSource{
		StacksFunc:   func(context.Context) ([]reconciler.StackStatus, error) { return stacks, nil },
		HealthFunc:   func() reconciler.Health { return reconciler.Health{LastPoll: lastPoll} },
		QueueLenFunc: func() int { return queue },
	}
	h := New(prometheus.NewRegistry()).Handler(src)
	got, _ := scrape(t, h)

	want := map[string]float64{
		`trueup_stack_drifted{stack="network"}`:             1,
		`trueup_stack_drifted{stack="stacks/app"}`:          0,
		`trueup_stack_drifted{stack="stacks/db"}`:           0,
		`trueup_stack_drifted{stack="fresh"}`:               0,
		`trueup_stack_held{stack="network"}`:                0,
		`trueup_stack_held{stack="stacks/app"}`:             1,
		`trueup_stack_last_run_success{stack="network"}`:    1,
		`trueup_stack_last_run_success{stack="stacks/app"}`: 0,
		`trueup_stack_last_run_success{stack="stacks/db"}`:  0,
		`trueup_held_applies`:                               1,
		`trueup_queue_depth`:                                3,
		`trueup_last_successful_poll_timestamp_seconds`:     float64(lastPoll.Unix()),
	}
	for series, v := range want {
		if assert.Contains(t, got, series) {
			assert.Equal(t, v, got[series], series)
		}
	}
	assert.NotContains(t, got, `trueup_stack_last_run_success{stack="fresh"}`, "no run, no success gauge")
	assert.NotContains(t, got, `trueup_stack_drifted{stack="old"}`, "removed stacks are not reported")

	// The next scrape sees the new state.
	stacks[1].Held, queue = nil, 0
	got, _ = scrape(t, h)
	assert.Equal(t, 0.0, got[`trueup_stack_held{stack="stacks/app"}`])
	assert.Equal(t, 0.0, got[`trueup_held_applies`])
	assert.Equal(t, 0.0, got[`trueup_queue_depth`])
}

func TestNeverPolledIsZero(t *testing.T) {
	got, _ := scrape(t, New(prometheus.NewRegistry()).Handler(&fakeSource{}))
	assert.Contains(t, got, "trueup_last_successful_poll_timestamp_seconds")
	assert.Zero(t, got["trueup_last_successful_poll_timestamp_seconds"])
}

func TestSourceErrorKeepsTheOtherSeries(t *testing.T) {
	src := &fakeSource{
		StacksFunc:   func(context.Context) ([]reconciler.StackStatus, error) { return nil, errors.New("store closed") },
		QueueLenFunc: func() int { return 2 },
	}
	m := New(prometheus.NewRegistry())
	m.DeliveryFailed()
	got, _ := scrape(t, m.Handler(src))
	assert.Equal(t, 2.0, got["trueup_queue_depth"])
	assert.Equal(t, 1.0, got["trueup_notification_failures_total"])
	assert.NotContains(t, got, "trueup_held_applies")
}

type ctxKey struct{}

func TestStacksAreReadWithTheScrapeContext(t *testing.T) {
	var seen any
	src := &fakeSource{StacksFunc: func(ctx context.Context) ([]reconciler.StackStatus, error) {
		seen = ctx.Value(ctxKey{})
		return nil, nil
	}}
	m := New(prometheus.NewRegistry())
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req = req.WithContext(context.WithValue(req.Context(), ctxKey{}, "scrape-1"))
	m.Handler(src).ServeHTTP(httptest.NewRecorder(), req)
	assert.Equal(t, "scrape-1", seen)
}

func TestNewToleratesRegisteredGoCollectors(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := New(reg)
	got, _ := scrape(t, m.Handler(&fakeSource{}))
	assert.Contains(t, got, "go_goroutines")
	assert.Panics(t, func() { New(reg) }, "trueup's own series cannot be registered twice")
}

func TestRegistryIsGathered(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	m.Polled(time.Second, errors.New("timeout"))
	families, err := reg.Gather()
	require.NoError(t, err)
	var names []string
	for _, f := range families {
		names = append(names, f.GetName())
	}
	assert.Contains(t, names, "trueup_git_poll_failures_total")
	assert.NotContains(t, names, "trueup_queue_depth", "stack state is collected by Handler per scrape")
}

// The reconciler observes through Metrics before the Source (the reconciler itself) exists; the
// handler built afterwards serves what was counted and the Source's state.
func TestEventsCountedBeforeTheSourceAreServed(t *testing.T) {
	m := New(prometheus.NewRegistry())
	m.RunFinished(reconciler.RunRecord{Stack: "app", Kind: reconciler.RunPlan, Result: reconciler.ResultSucceeded})
	m.Polled(time.Second, nil)

	got, _ := scrape(t, m.Handler(&fakeSource{QueueLenFunc: func() int { return 4 }}))
	assert.Equal(t, 1.0, got[`trueup_runs_total{kind="plan",result="succeeded",stack="app"}`])
	assert.Equal(t, 1.0, got["trueup_git_poll_duration_seconds_count"])
	assert.Equal(t, 4.0, got["trueup_queue_depth"])
}
