package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/trueup/trueup/reconciler/lease"
)

// RegisterLease registers, in reg, the gauges of a replica that takes part in leader election, read
// from state at scrape time: whether it leads, the lease's epoch, and the lease's age.
func RegisterLease(reg prometheus.Registerer, state func() lease.State) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "trueup_leader",
			Help: "1 while this replica holds the leader's lease (it polls, runs Terraform and delivers alerts), 0 while it stands by.",
		}, func() float64 {
			if state().Leading {
				return 1
			}
			return 0
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "trueup_leader_epoch",
			Help: "The epoch (fencing token) of the leader's lease as this replica last saw it; it grows with every new leader.",
		}, func() float64 { return float64(state().Lease.Epoch) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "trueup_lease_age_seconds",
			Help: "Seconds since the leader's lease was last renewed, as this replica last saw it.",
		}, func() float64 { return state().Age.Seconds() }),
	)
}
