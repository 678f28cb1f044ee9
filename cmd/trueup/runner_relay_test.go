package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler/lease"
)

type fakePeers struct{ addrs map[string]string }

func (f *fakePeers) Advertise(context.Context, string, string) error { return nil }
func (f *fakePeers) Address(_ context.Context, holder string) (string, error) {
	return f.addrs[holder], nil
}
func (f *fakePeers) RunnerKey(context.Context, string) ([]byte, error) { return make([]byte, 32), nil }

func TestTheRunnerRelayAnswersAsLeaderForwardsAsStandbyAndNeverLoops(t *testing.T) {
	var leaderGot atomic.Value
	leader := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaderGot.Store(r.Method + " " + r.URL.Path + " " + r.Header.Get("Authorization") + " " + r.Header.Get(relayedHeader))
		w.WriteHeader(http.StatusGone)
	}))
	defer leader.Close()
	local := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	relay := newRunnerRelay(local, &fakePeers{addrs: map[string]string{"a-1": leader.URL}}, slog.New(slog.DiscardHandler))
	call := func(header map[string]string) int {
		req := httptest.NewRequest(http.MethodPost, "/runner/v1/runs/0123/heartbeat", nil)
		req.Header.Set("Authorization", "Bearer tok")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		w := httptest.NewRecorder()
		relay.ServeHTTP(w, req)
		return w.Code
	}
	assert.Equal(t, http.StatusServiceUnavailable, call(nil), "not following an elector yet: retry")

	var st atomic.Pointer[lease.State]
	relay.follow(func() lease.State { return *st.Load() })
	live := lease.Lease{Holder: "a-1", Epoch: 4, Expires: time.Now().Add(time.Hour)}
	st.Store(&lease.State{Self: "b-1", Leading: true, Lease: lease.Lease{Holder: "b-1", Epoch: 5, Expires: time.Now().Add(time.Hour)}})
	assert.Equal(t, http.StatusServiceUnavailable, call(nil), "a new leader that has not adopted the runners in flight yet: retry, not 410")
	relay.ready(5)
	assert.Equal(t, http.StatusTeapot, call(nil), "the leader answers itself")

	st.Store(&lease.State{Self: "b-1", Lease: live})
	assert.Equal(t, http.StatusGone, call(nil), "a standby forwards to the leader, whose answer the runner gets")
	assert.Equal(t, "POST /runner/v1/runs/0123/heartbeat Bearer tok 1", leaderGot.Load())

	assert.Equal(t, http.StatusServiceUnavailable, call(map[string]string{relayedHeader: "1"}),
		"a call already forwarded once is not forwarded again (no loop between two standbys)")

	st.Store(&lease.State{Self: "b-1", Lease: lease.Lease{Holder: "a-1", Expires: time.Now().Add(-time.Second)}})
	assert.Equal(t, http.StatusServiceUnavailable, call(nil), "no live leader: retry")
	st.Store(&lease.State{Self: "b-1", Lease: lease.Lease{Holder: "c-9", Expires: time.Now().Add(time.Hour)}})
	assert.Equal(t, http.StatusServiceUnavailable, call(nil), "a leader that advertised no address: retry")

	dead := leader.URL
	leader.Close()
	relay2 := newRunnerRelay(local, &fakePeers{addrs: map[string]string{"a-1": dead}}, slog.New(slog.DiscardHandler))
	relay2.follow(func() lease.State { return lease.State{Self: "b-1", Lease: live} })
	w := httptest.NewRecorder()
	relay2.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/runner/v1/runs/0123/job", nil))
	assert.Equal(t, http.StatusServiceUnavailable, w.Code, "an unreachable leader: retry")
	body, _ := io.ReadAll(w.Body)
	assert.Contains(t, string(body), "the leader cannot be reached")
}

func TestAdvertiseURLIsThisMachinesOwnAddress(t *testing.T) {
	assert.Equal(t, "https://trueup-0.trueup:8443", advertiseURL("https://trueup-0.trueup:8443", &net.TCPAddr{Port: 8080}))
	assert.Equal(t, "http://10.1.2.3:8080", advertiseURL("", &net.TCPAddr{IP: net.ParseIP("10.1.2.3"), Port: 8080}))
	got := advertiseURL("", &net.TCPAddr{IP: net.IPv4zero, Port: 8080})
	require.NotContains(t, got, "0.0.0.0", "an unspecified listen address is replaced by a reachable one")
	assert.Regexp(t, `^http://[0-9.]+:8080$`, got)
}
