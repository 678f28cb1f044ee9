package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// guard puts the /api/v1 routes behind the bearer token when one is configured: then every request
// must present it, reads included, and is refused with 401 before the backend is asked anything, so
// an unauthenticated caller learns not even whether a stack or pull request exists. Without a
// configured token the reads are open and authorize refuses the mutations.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.hasToken && !s.checkBearer(w, r) {
			return
		}
		next.ServeHTTP(w, r)
	})
}

// authorize reports whether r may mutate; when it may not, it has written the JSON error:
// 403 when no token is configured (mutations are off), 401 when the bearer token is missing or wrong.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) bool {
	if !s.hasToken {
		s.writeError(w, http.StatusForbidden, "mutations are disabled: api.token_env is not configured on the daemon")
		return false
	}
	return s.checkBearer(w, r)
}

// checkBearer reports whether r presents the configured token; when it does not, it has written the 401.
func (s *Server) checkBearer(w http.ResponseWriter, r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="trueup"`)
		s.writeError(w, http.StatusUnauthorized, "missing bearer token: send Authorization: Bearer <token>")
		return false
	}
	// Digests have equal length, so the comparison's time depends on neither token's length.
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	if subtle.ConstantTimeCompare(sum[:], s.tokenSum[:]) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="trueup", error="invalid_token"`)
		s.writeError(w, http.StatusUnauthorized, "invalid bearer token")
		return false
	}
	return true
}
