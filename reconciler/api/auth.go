package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// authorize reports whether r may mutate; when it may not, it has written the JSON error:
// 403 when no token is configured (mutations are off), 401 when the bearer token is missing or wrong.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) bool {
	if !s.hasToken {
		writeError(w, http.StatusForbidden, "mutations are disabled: api.token_env is not configured on the daemon")
		return false
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="trueup"`)
		writeError(w, http.StatusUnauthorized, "missing bearer token: send Authorization: Bearer <token>")
		return false
	}
	// Digests have equal length, so the comparison's time depends on neither token's length.
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	if subtle.ConstantTimeCompare(sum[:], s.tokenSum[:]) != 1 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="trueup", error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, "invalid bearer token")
		return false
	}
	return true
}
