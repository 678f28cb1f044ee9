package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"

	"github.com/trueup/trueup/reconciler/lease"
)

func TestLeaseGaugesFollowTheElector(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	state := lease.State{Self: "b", Lease: lease.Lease{Holder: "a", Epoch: 3}, Age: 4 * time.Second}
	RegisterLease(reg, func() lease.State { return state })
	h := m.Handler(&fakeSource{})

	samples, _ := scrape(t, h)
	assert.Equal(t, 0.0, samples["trueup_leader"], "a standby")
	assert.Equal(t, 3.0, samples["trueup_leader_epoch"])
	assert.Equal(t, 4.0, samples["trueup_lease_age_seconds"])

	state = lease.State{Self: "b", Leading: true, Lease: lease.Lease{Holder: "b", Epoch: 4}, Age: 500 * time.Millisecond}
	samples, _ = scrape(t, h)
	assert.Equal(t, 1.0, samples["trueup_leader"], "read at scrape time: b took over")
	assert.Equal(t, 4.0, samples["trueup_leader_epoch"])
	assert.Equal(t, 0.5, samples["trueup_lease_age_seconds"])
}
