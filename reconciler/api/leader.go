package api

import (
	"net/http"
	"time"
)

// Leadership is what GET /api/v1/leader answers: which replica leads, and how this one sees it.
type Leadership struct {
	// Replicated is true when replicas share a store and elect a leader; a single replica always leads.
	Replicated bool `json:"replicated"`
	// Self names this replica; Leading is true when it is the leader.
	Self    string `json:"self,omitempty"`
	Leading bool   `json:"leading"`
	// Leader names the replica holding the lease, as last seen, and Epoch its fencing token.
	Leader string `json:"leader,omitempty"`
	Epoch  int64  `json:"epoch,omitempty"`
	// LeaseAgeSeconds is how long ago the lease was last renewed; Expires is when it runs out unless renewed.
	LeaseAgeSeconds float64   `json:"lease_age_seconds"`
	Expires         time.Time `json:"expires,omitzero"`
	// Error is set while this replica cannot reach the lease's store (the reason's kind, no details).
	Error string `json:"error,omitempty"`
}

func (s *Server) leader(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, http.StatusOK, s.leadership())
}
