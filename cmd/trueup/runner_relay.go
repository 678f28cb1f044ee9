package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	"github.com/trueup/trueup/reconciler/lease"
)

// runnerPeers is what runners need of the store two replicas share: where each replica answers
// runners, and the key that seals runners' platform records (one for all replicas).
type runnerPeers interface {
	Advertise(ctx context.Context, holder, address string) error
	Address(ctx context.Context, holder string) (string, error)
	RunnerKey(ctx context.Context, name string) ([]byte, error)
}

// relayedHeader marks a runner's call a standby forwarded: a replica that receives one and does
// not lead answers 503 rather than forward it again.
const relayedHeader = "X-Trueup-Relayed"

// relayTransferTimeout bounds a forwarded call (a tree or a plan file may take minutes).
const relayTransferTimeout = 10 * time.Minute

// advertiseEvery is how often a replica refreshes its advertised address.
const advertiseEvery = time.Minute

// runnerRelay answers runners on a replica: with the leader's dispatcher while this replica
// leads, else by forwarding the call to the leader's advertised address. Runners are given one
// URL for both replicas (runner.callback_url, a load balancer), and whichever replica they reach,
// their run is the leader's.
type runnerRelay struct {
	local http.Handler
	peers runnerPeers
	log   *slog.Logger

	mu      sync.Mutex
	state   func() lease.State // the elector's; nil until the replica is made
	proxies map[string]*httputil.ReverseProxy
	// adopted is the epoch of the last term that adopted the runners in flight: until the term
	// that leads now has, runners are told to retry (a run it is about to adopt is not unknown).
	adopted int64
}

func newRunnerRelay(local http.Handler, peers runnerPeers, log *slog.Logger) *runnerRelay {
	return &runnerRelay{local: local, peers: peers, log: log, proxies: map[string]*httputil.ReverseProxy{}}
}

// ready says the term at epoch adopted the runners in flight: the leader's dispatcher answers
// runners from now on.
func (h *runnerRelay) ready(epoch int64) {
	h.mu.Lock()
	h.adopted = epoch
	h.mu.Unlock()
}

// follow makes the relay follow an elector's state.
func (h *runnerRelay) follow(state func() lease.State) {
	h.mu.Lock()
	h.state = state
	h.mu.Unlock()
}

func (h *runnerRelay) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	h.mu.Lock()
	state, adopted := h.state, h.adopted
	h.mu.Unlock()
	if state == nil {
		relayRefuse(w, "trueup is starting: retry")
		return
	}
	st := state()
	if st.Leading {
		if adopted != st.Lease.Epoch {
			relayRefuse(w, "the new leader is adopting the runners in flight: retry")
			return
		}
		h.local.ServeHTTP(w, req)
		return
	}
	if req.Header.Get(relayedHeader) != "" {
		relayRefuse(w, "forwarded to a replica that does not lead (the lease moved): retry")
		return
	}
	leader := st.Lease.Holder
	if leader == "" || !st.Lease.Live(time.Now()) {
		relayRefuse(w, "no replica leads right now: retry")
		return
	}
	proxy, err := h.proxyTo(req.Context(), leader)
	if err != nil {
		h.log.Warn("forward a runner's call to the leader", "leader", leader, "err", err)
		relayRefuse(w, "the leader's address is unknown: retry")
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(relayTransferTimeout))
	_ = rc.SetWriteDeadline(time.Now().Add(relayTransferTimeout))
	req.Header.Set(relayedHeader, "1")
	proxy.ServeHTTP(w, req)
}

// proxyTo returns the reverse proxy to leader's advertised address.
func (h *runnerRelay) proxyTo(ctx context.Context, leader string) (*httputil.ReverseProxy, error) {
	h.mu.Lock()
	p := h.proxies[leader]
	h.mu.Unlock()
	if p != nil {
		return p, nil
	}
	lookupCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addr, err := h.peers.Address(lookupCtx, leader)
	if err != nil {
		return nil, err
	}
	if addr == "" {
		return nil, fmt.Errorf("%s advertised no address", leader)
	}
	target, err := url.Parse(addr)
	if err != nil {
		return nil, fmt.Errorf("%s advertised %q: %w", leader, addr, err)
	}
	p = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target) },
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
			h.log.Warn("forward a runner's call to the leader", "leader", leader, "err", err)
			relayRefuse(w, "the leader cannot be reached: retry")
		},
	}
	h.mu.Lock()
	if len(h.proxies) > 16 { // leaders come and go; keep the few recent
		clear(h.proxies)
	}
	h.proxies[leader] = p
	h.mu.Unlock()
	return p, nil
}

// relayRefuse answers 503, which a runner retries.
func relayRefuse(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Retry-After", "2")
	w.WriteHeader(http.StatusServiceUnavailable)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// advertise records, now and every advertiseEvery until ctx ends, where self answers runners.
func advertise(ctx context.Context, peers runnerPeers, self, address string, log *slog.Logger) {
	failing := false
	for {
		callCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := peers.Advertise(callCtx, self, address)
		cancel()
		switch {
		case err != nil && !failing && ctx.Err() == nil:
			log.Warn("advertise this replica's address to runners; retrying", "err", err)
			failing = true
		case err == nil && failing:
			log.Info("advertised this replica's address to runners", "address", address)
			failing = false
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(advertiseEvery):
		}
	}
}

// advertiseURL is runner.advertise_url, or this replica's own address from the listen address:
// an unspecified host (":8080") becomes the first non-loopback IPv4 address of this machine (a
// pod's or a task's own).
func advertiseURL(configured string, addr net.Addr) string {
	if configured != "" {
		return configured
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = firstIPv4()
	}
	return "http://" + net.JoinHostPort(host, port)
}

func firstIPv4() string {
	addrs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
				return n.IP.String()
			}
		}
	}
	return "127.0.0.1"
}
