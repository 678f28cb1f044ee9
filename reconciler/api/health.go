package api

import (
	"context"
	"net/http"
)

// staleAfter is how many poll intervals may pass without a successful poll before trueup is not ready.
const staleAfter = 3

type statusBody struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// healthz is liveness: the process serves HTTP. It checks nothing else, so a slow store or an
// unreachable remote never gets the daemon restarted in the middle of an apply.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, http.StatusOK, statusBody{Status: "ok"})
}

// Why readyz says trueup is not ready. The reason names the check that failed and nothing more:
// an error's text may hold a URL with credentials or internal details, and the probe is often
// reachable by more than the API is. The log and the metrics have the details.
const (
	reasonStore     = "store: not answering"
	reasonNoPoll    = "poll: no successful poll yet"
	reasonStalePoll = "poll: last successful poll too old"
)

// readyz is readiness: the store answers and the remote was polled successfully within three poll
// intervals (a standby replica does not poll: the store is all it needs).
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if reason := s.notReady(r.Context()); reason != "" {
		s.writeJSON(w, http.StatusServiceUnavailable, statusBody{Status: "not ready", Reason: reason})
		return
	}
	s.writeJSON(w, http.StatusOK, statusBody{Status: "ready"})
}

// notReady returns why the daemon is not ready, one of the reason constants, or "" when it is.
func (s *Server) notReady(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, storeCheckTimeout)
	defer cancel()
	if err := s.backend.StoreOK(ctx); err != nil {
		s.log.Warn("readiness: the store does not answer", "err", err)
		return reasonStore
	}
	h := s.backend.Health()
	if h.Standby {
		return "" // a standby serves reads and records requests for the leader: the store is all it needs
	}
	if h.LastPoll.IsZero() {
		return reasonNoPoll
	}
	if age := s.now().Sub(h.LastPoll); age > staleAfter*s.pollInterval {
		return reasonStalePoll
	}
	return ""
}
