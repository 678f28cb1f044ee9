// Package awstest is AWS for tests: in-process stand-ins for the three AWS APIs trueup calls — STS
// (AssumeRole), Secrets Manager (GetSecretValue) and ECS (UpdateService) — each an httptest server
// speaking the service's real wire format, so the AWS SDK talks to it unchanged once pointed at its URL.
// The servers read who signed each request (SigV4) but check no signature. Their methods are safe for
// concurrent use, and each server closes when its test ends.
package awstest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"testing"
)

// The static base identity tests give trueup (its own AWS identity, before it assumes any role).
// The servers accept any key; tests compare Signer.KeyID with BaseKeyID and check BaseSecretKey
// never reaches a log.
const (
	BaseKeyID     = "AKIDTRUEUPBASE"
	BaseSecretKey = "base-secret-key-SENSITIVE"
)

// Signer is who signed a request, from the credential scope of its SigV4 Authorization header:
// the access key id and the region and service the request was signed for.
type Signer struct{ KeyID, Region, Service string }

var credentialRE = regexp.MustCompile(`Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request`)

// SignerOf returns the signer of r, or the zero Signer when r carries no SigV4 Authorization header.
func SignerOf(r *http.Request) Signer {
	m := credentialRE.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return Signer{}
	}
	return Signer{KeyID: m[1], Region: m[2], Service: m[3]}
}

// server is what the fakes share: the running httptest server, the test it reports to, and the lock
// over the fake's state.
type server struct {
	*httptest.Server
	t  testing.TB
	mu sync.Mutex
}

// start serves h until the test ends.
func (s *server) start(t testing.TB, h http.HandlerFunc) {
	s.t = t
	s.Server = httptest.NewServer(h)
	t.Cleanup(s.Close)
}

// readJSON decodes the body of a JSON 1.1 request for operation target (its X-Amz-Target header) into in.
// On any other request it fails the test, answers 400 and returns false.
func (s *server) readJSON(w http.ResponseWriter, r *http.Request, target string, in any) bool {
	if got := r.Header.Get("X-Amz-Target"); got != target || json.NewDecoder(r.Body).Decode(in) != nil {
		s.t.Errorf("awstest: unexpected request %s %s with X-Amz-Target %q, want %q", r.Method, r.URL, got, target)
		http.Error(w, "bad request", http.StatusBadRequest)
		return false
	}
	return true
}

// writeJSON answers a JSON 1.1 request with status and v.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeJSONError answers a JSON 1.1 request with AWS's error shape: HTTP 400, the error's type and message.
func writeJSONError(w http.ResponseWriter, errType, message string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"__type": errType, "message": message})
}
