package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/trueup/trueup/reconciler"
)

// Actions a POST may ask of a stack, as the last segment of its path.
const (
	actionReconcile = "reconcile"
	actionApprove   = "approve"
)

type stacksBody struct {
	Stacks []reconciler.StackStatus `json:"stacks"`
}

type approveRequest struct {
	Revision string `json:"revision"`
}

type approveResponse struct {
	Stack    string              `json:"stack"`
	Approved reconciler.Revision `json:"approved"`
}

type queuedResponse struct {
	Status string `json:"status"`
	Stack  string `json:"stack"`
}

func (s *Server) listStacks(w http.ResponseWriter, r *http.Request) {
	stacks, err := s.backend.Stacks(r.Context())
	if err != nil {
		s.backendError(w, r, err)
		return
	}
	if stacks == nil {
		stacks = []reconciler.StackStatus{} // [] rather than null for clients
	}
	s.writeJSON(w, http.StatusOK, stacksBody{Stacks: stacks})
}

// stack serves /api/v1/stacks/{stack...}: GET reads the stack; POST takes the action named by the
// last segment, since the stack name itself may contain slashes.
func (s *Server) stack(w http.ResponseWriter, r *http.Request) {
	path := r.PathValue("stack")
	name, action := path, ""
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		name, action = path[:i], path[i+1:]
	}
	isAction := action == actionReconcile || action == actionApprove
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		s.getStack(w, r, path, isAction)
	case http.MethodPost:
		if !isAction || name == "" {
			s.writeError(w, http.StatusNotFound, fmt.Sprintf("no action at %s: POST /api/v1/stacks/STACK/reconcile or /api/v1/stacks/STACK/approve", r.URL.Path))
			return
		}
		if !s.authorize(w, r) {
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if action == actionReconcile {
			s.reconcile(w, r, name)
		} else {
			s.approve(w, r, name)
		}
	default:
		allowed := []string{http.MethodGet, http.MethodHead}
		if isAction {
			allowed = []string{http.MethodPost}
		}
		s.methodNotAllowed(w, r, allowed...)
	}
}

// getStack answers a read of name. A missing name ending in an action segment is a read of an action,
// answered with 405, so "GET .../approve" says to POST instead of claiming the stack does not exist.
func (s *Server) getStack(w http.ResponseWriter, r *http.Request, name string, isAction bool) {
	if name == "" {
		s.writeError(w, http.StatusNotFound, "no stack named: GET /api/v1/stacks/STACK")
		return
	}
	st, err := s.backend.Stack(r.Context(), name)
	if errors.Is(err, reconciler.ErrNotFound) && isAction {
		s.methodNotAllowed(w, r, http.MethodPost)
		return
	}
	if err != nil {
		s.backendError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, st)
}

func (s *Server) reconcile(w http.ResponseWriter, r *http.Request, name string) {
	if err := s.backend.Reconcile(r.Context(), name); err != nil {
		s.backendError(w, r, err)
		return
	}
	s.log.Info("reconcile requested through the API", "stack", name, "remote", r.RemoteAddr)
	s.writeJSON(w, http.StatusAccepted, queuedResponse{Status: "queued", Stack: name})
}

func (s *Server) approve(w http.ResponseWriter, r *http.Request, name string) {
	var req approveRequest
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", tooBig.Limit))
			return
		}
		s.writeError(w, http.StatusBadRequest, `invalid JSON body: want {"revision": "<commit sha>"}: `+err.Error())
		return
	}
	if msg := checkRevision(req.Revision); msg != "" {
		s.writeError(w, http.StatusBadRequest, msg)
		return
	}
	rev, err := s.backend.Approve(r.Context(), name, req.Revision)
	if err != nil {
		s.backendError(w, r, err)
		return
	}
	s.log.Info("held apply approved through the API", "stack", name, "rev", rev.Short(), "remote", r.RemoteAddr)
	s.writeJSON(w, http.StatusOK, approveResponse{Stack: name, Approved: rev})
}

// checkRevision returns what is wrong with rev as a commit hash or abbreviation, or "".
func checkRevision(rev string) string {
	switch {
	case rev == "":
		return `missing "revision": the commit sha of the held apply (at least 7 hex digits)`
	case len(rev) < 7 || len(rev) > 64 || strings.Trim(strings.ToLower(rev), "0123456789abcdef") != "":
		return fmt.Sprintf("revision %q is not a commit sha or a prefix of at least 7 hex digits", rev)
	}
	return ""
}

// backendError maps the backend's error contract to a status: not found 404, conflict 409, not ready
// 503 (with Retry-After), else 500.
func (s *Server) backendError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, reconciler.ErrNotFound):
		s.writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, reconciler.ErrConflict):
		s.writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, reconciler.ErrNotReady):
		w.Header().Set("Retry-After", "1")
		s.writeError(w, http.StatusServiceUnavailable, err.Error())
	case r.Context().Err() != nil:
		// The client went away; nobody reads the answer.
		s.writeError(w, http.StatusServiceUnavailable, err.Error())
	default:
		s.log.Error("API request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		s.writeError(w, http.StatusInternalServerError, err.Error())
	}
}
