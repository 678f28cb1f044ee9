// Package metrics exposes trueup to Prometheus in two halves. Metrics, made by New before the
// reconciler, is the reconciler.Metrics port: events (runs, Terraform phases, polls, failed
// notifications) are counted as they happen. Handler, given the reconciler once it exists as a
// Source, serves those series and the state of the stacks (drift, held applies, queue depth, last
// poll), read from the Source at scrape time, so it is never stale and needs no bookkeeping.
package metrics

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/trueup/trueup/reconciler"
)

// Source is what the scrape-time gauges read. *reconciler.Reconciler implements it.
type Source interface {
	// Stacks returns every stack's status.
	Stacks(ctx context.Context) ([]reconciler.StackStatus, error)
	// Health reports the last successful poll.
	Health() reconciler.Health
	// QueueLen is the number of stacks waiting for a worker.
	QueueLen() int
}

// Terraform runs last from seconds to tens of minutes.
var terraformBuckets = []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800}

// A poll lists refs and fetches: usually well under a second, seconds on a slow remote.
var pollBuckets = []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}

// Metrics implements reconciler.Metrics over Prometheus collectors: what the reconciler observes.
// It is safe for concurrent use and its methods never block.
type Metrics struct {
	gatherer     prometheus.Gatherer
	runs         *prometheus.CounterVec
	planTime     prometheus.Histogram
	applyTime    prometheus.Histogram
	pollTime     prometheus.Histogram
	pollFailures prometheus.Counter
	deliveryFail prometheus.Counter
}

var _ reconciler.Metrics = (*Metrics)(nil)

// New registers trueup's event series, and the Go and process collectors when reg has none yet, in
// reg and returns the Metrics. A nil reg means a new registry. Handler serves reg when it is also a
// prometheus.Gatherer (a *prometheus.Registry is), else prometheus.DefaultGatherer. Like
// prometheus.MustRegister, New panics when trueup's series are already registered in reg.
func New(reg prometheus.Registerer) *Metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	gatherer, ok := reg.(prometheus.Gatherer)
	if !ok {
		gatherer = prometheus.DefaultGatherer
	}
	m := &Metrics{
		gatherer: gatherer,
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trueup_runs_total",
			Help: "Finished runs by stack, kind (apply, plan, drift) and result (succeeded, no_changes, failed, held, interrupted).",
		}, []string{"stack", "kind", "result"}),
		planTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "trueup_terraform_plan_duration_seconds",
			Help:    "Time spent in terraform init, plan and show for one plan.",
			Buckets: terraformBuckets,
		}),
		applyTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "trueup_terraform_apply_duration_seconds",
			Help:    "Time spent in terraform apply for one apply.",
			Buckets: terraformBuckets,
		}),
		pollTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "trueup_git_poll_duration_seconds",
			Help:    "Time of one poll of the git remote (list refs and fetch), failed ones included.",
			Buckets: pollBuckets,
		}),
		pollFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trueup_git_poll_failures_total",
			Help: "Polls of the git remote that failed.",
		}),
		deliveryFail: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trueup_notification_failures_total",
			Help: "Failed notification delivery attempts (each is retried from the outbox).",
		}),
	}
	reg.MustRegister(m.runs, m.planTime, m.applyTime, m.pollTime, m.pollFailures, m.deliveryFail)
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		// The default registry has these already; that is fine.
		if err := reg.Register(c); err != nil && !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
			panic(err)
		}
	}
	return m
}

// RunFinished counts a finished run.
func (m *Metrics) RunFinished(run reconciler.RunRecord) {
	m.runs.WithLabelValues(run.Stack, string(run.Kind), string(run.Result)).Inc()
}

// TerraformDuration observes a "plan" or "apply" phase; other phases are ignored.
func (m *Metrics) TerraformDuration(phase string, d time.Duration) {
	switch phase {
	case "plan":
		m.planTime.Observe(d.Seconds())
	case "apply":
		m.applyTime.Observe(d.Seconds())
	}
}

// Polled observes one poll and counts it as failed when err is not nil.
func (m *Metrics) Polled(d time.Duration, err error) {
	m.pollTime.Observe(d.Seconds())
	if err != nil {
		m.pollFailures.Inc()
	}
}

// DeliveryFailed counts a failed notification delivery attempt.
func (m *Metrics) DeliveryFailed() { m.deliveryFail.Inc() }

// Handler serves the registry and the stack gauges read from src in the Prometheus exposition
// format. The stack gauges are collected for each scrape with the scrape's context, so a scraper
// that gives up also stops the store read. When src fails, the other series are still served.
func (m *Metrics) Handler(src Source) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scrape := prometheus.NewRegistry()
		scrape.MustRegister(&stateCollector{src: src, ctx: r.Context()})
		promhttp.HandlerFor(prometheus.Gatherers{m.gatherer, scrape}, promhttp.HandlerOpts{
			ErrorHandling: promhttp.ContinueOnError,
		}).ServeHTTP(w, r)
	})
}
