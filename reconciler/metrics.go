package reconciler

import "time"

// Metrics observes the reconciler for monitoring. Calls must be cheap and never block. Gauges that
// describe the current state (drift per stack, held applies, queue depth, last poll) are read from
// Stacks, Health and QueueLen when scraped instead.
type Metrics interface {
	// RunFinished counts a finished run by stack, kind and result.
	RunFinished(run RunRecord)
	// TerraformDuration observes the time of one Terraform phase ("plan" or "apply").
	TerraformDuration(phase string, d time.Duration)
	// Polled observes one poll of the remote (list refs and fetch) and whether it failed.
	Polled(d time.Duration, err error)
	// DeliveryFailed counts a failed notification delivery attempt.
	DeliveryFailed()
}

type nopMetrics struct{}

func (nopMetrics) RunFinished(RunRecord)                   {}
func (nopMetrics) TerraformDuration(string, time.Duration) {}
func (nopMetrics) Polled(time.Duration, error)             {}
func (nopMetrics) DeliveryFailed()                         {}
