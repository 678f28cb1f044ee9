package api

import (
	"context"
	"fmt"
	"net/http"
	"time"
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
	writeJSON(w, http.StatusOK, statusBody{Status: "ok"})
}

// readyz is readiness: the store answers and the remote was polled successfully within three poll
// intervals.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if reason := s.notReady(r.Context()); reason != "" {
		writeJSON(w, http.StatusServiceUnavailable, statusBody{Status: "not ready", Reason: reason})
		return
	}
	writeJSON(w, http.StatusOK, statusBody{Status: "ready"})
}

// notReady returns why the daemon is not ready, or "" when it is.
func (s *Server) notReady(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, storeCheckTimeout)
	defer cancel()
	if err := s.backend.StoreOK(ctx); err != nil {
		return "store: " + err.Error()
	}
	h := s.backend.Health()
	suffix := ""
	if h.PollError != nil {
		suffix = ": " + h.PollError.Error()
	}
	if h.LastPoll.IsZero() {
		return "no successful poll yet" + suffix
	}
	if age := s.now().Sub(h.LastPoll); age > staleAfter*s.pollInterval {
		return fmt.Sprintf("last successful poll was %s ago (poll_interval %s)%s", roughly(age), roughly(s.pollInterval), suffix)
	}
	return ""
}

// roughly formats d for people: "45s", "2m", "1h5m", "3d4h".
func roughly(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		if sec := int(d.Seconds()) % 60; sec != 0 && d < 10*time.Minute {
			return fmt.Sprintf("%dm%ds", int(d.Minutes()), sec)
		}
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 24*time.Hour:
		if m := int(d.Minutes()) % 60; m != 0 {
			return fmt.Sprintf("%dh%dm", int(d.Hours()), m)
		}
		return fmt.Sprintf("%dh", int(d.Hours()))
	default:
		days, hours := int(d.Hours())/24, int(d.Hours())%24
		if hours != 0 {
			return fmt.Sprintf("%dd%dh", days, hours)
		}
		return fmt.Sprintf("%dd", days)
	}
}
