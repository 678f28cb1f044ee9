package githubtest

import (
	"net/http"
	"strings"
	"time"
)

// caller is who a request authenticates as.
type caller int

const (
	anonymous caller = iota
	user             // a token other than the installation token: the user Login
	bot              // the installation token: "<AppSlug>[bot]"
	app              // a JWT signed for the App
)

// callerOf tells who r comes from by its Authorization header ("Bearer" or "token", as GitHub accepts).
func (s *Server) callerOf(r *http.Request) caller {
	auth := r.Header.Get("Authorization")
	scheme, cred, _ := strings.Cut(auth, " ")
	switch {
	case cred == "" || (scheme != "Bearer" && scheme != "token"):
		return anonymous
	case cred == s.Token:
		return bot
	case isJWT(cred):
		return app
	}
	return user
}

// isJWT reports whether cred looks like a JSON web token: three base64url parts, a JSON header first.
func isJWT(cred string) bool { return strings.HasPrefix(cred, "eyJ") && strings.Count(cred, ".") == 2 }

// AppLogin is the login the App's installation token comments as: "<AppSlug>[bot]".
func (s *Server) AppLogin() string { return s.AppSlug + "[bot]" }

// commenter is the login a comment posted by r is written by; it answers 401 or 403 when r cannot comment.
func (s *Server) commenter(w http.ResponseWriter, r *http.Request) (string, bool) {
	switch s.callerOf(r) {
	case user:
		return s.Login, true
	case bot:
		return s.AppLogin(), true
	case app:
		writeError(w, http.StatusForbidden, "Resource not accessible by integration")
		return "", false
	}
	writeError(w, http.StatusUnauthorized, "Requires authentication")
	return "", false
}

// getUser is GET /user: the token's user. An installation token or a JWT has no user.
func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	switch s.callerOf(r) {
	case user:
		writeJSON(w, http.StatusOK, map[string]any{"login": s.Login, "id": 1, "type": "User"})
	case bot, app:
		writeError(w, http.StatusForbidden, "Resource not accessible by integration")
	default:
		writeError(w, http.StatusUnauthorized, "Requires authentication")
	}
}

// getApp is GET /app: the App a JWT is signed for.
func (s *Server) getApp(w http.ResponseWriter, r *http.Request) {
	if s.callerOf(r) != app {
		writeError(w, http.StatusUnauthorized, "A JSON web token could not be decoded")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": 42, "slug": s.AppSlug, "name": s.AppSlug})
}

// accessToken issues the installation token to a JWT.
func (s *Server) accessToken(w http.ResponseWriter, r *http.Request) {
	if s.callerOf(r) != app {
		writeError(w, http.StatusUnauthorized, "A JSON web token could not be decoded")
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{
		"token":      s.Token,
		"expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
	})
}
