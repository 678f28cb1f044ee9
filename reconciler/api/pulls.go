package api

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"

	"github.com/trueup/trueup/reconciler"
)

type pullBody struct {
	Number int                     `json:"number"`
	Plans  []reconciler.BranchPlan `json:"plans"`
}

// pull serves GET /api/v1/pulls/{number}: the plans trueup recorded for the pull request, each with
// Terraform's full rendering (the comment on the pull request may show only part of it).
func (s *Server) pull(w http.ResponseWriter, r *http.Request) {
	number, ok := parsePullNumber(r.PathValue("number"))
	if !ok {
		s.writeError(w, http.StatusBadRequest, "the pull request number must be a positive integer: GET /api/v1/pulls/NUMBER")
		return
	}
	plans, err := s.backend.PullPlans(r.Context(), number)
	if errors.Is(err, reconciler.ErrNotFound) {
		s.writeError(w, http.StatusNotFound, fmt.Sprintf("no plans recorded for pull request #%d", number))
		return
	}
	if err != nil {
		s.backendError(w, r, err)
		return
	}
	if plans == nil {
		plans = []reconciler.BranchPlan{}
	}
	s.writeJSON(w, http.StatusOK, pullBody{Number: number, Plans: plans})
}

// parsePullNumber accepts the decimal digits of a number from 1 to 2³¹-1 without a sign, a leading
// zero or anything else, so every pull request has exactly one path.
func parsePullNumber(s string) (int, bool) {
	if s == "" || len(s) > 10 || s[0] == '0' {
		return 0, false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > math.MaxInt32 {
		return 0, false
	}
	return int(n), true
}
