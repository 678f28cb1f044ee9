package api

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// errorBody is every error response.
type errorBody struct {
	Error string `json:"error"`
}

// encodeFailed is the answer when a value cannot be encoded, which only a bug causes.
const encodeFailed = `{"error": "internal error: the answer could not be encoded"}` + "\n"

// writeJSON sends v as indented JSON with status, every string of it passed through Options.Redact.
func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	var body []byte
	if err := enc.Encode(v); err != nil {
		s.log.Error("encode API answer", "err", err)
		status, body = http.StatusInternalServerError, []byte(encodeFailed)
	} else {
		body = redactJSON(buf.Bytes(), s.redact)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	// The status line is already sent: a failed write means the client went away.
	_, _ = w.Write(body)
}

func (s *Server) writeError(w http.ResponseWriter, status int, msg string) {
	s.writeJSON(w, status, errorBody{Error: msg})
}

// redactJSON passes every string literal of the JSON text b, keys included, through redact and
// returns the text with each literal that redact changed encoded anew. It works on the decoded
// strings, so a secret is found whatever JSON escaped in it: the newlines of a PEM key, a quote, or
// "<" and "&", which encoding/json writes as \u003c and \u0026. b must be valid JSON, as
// encoding/json writes it; a nil redact returns b.
func redactJSON(b []byte, redact func(string) string) []byte {
	if redact == nil {
		return b
	}
	var out []byte
	done := 0 // b[:done] is already in out
	for start := 0; start < len(b); start++ {
		if b[start] != '"' {
			continue
		}
		end, escaped := start+1, false // end: the closing quote
		for end < len(b) && b[end] != '"' {
			if b[end] == '\\' {
				escaped = true
				end++
			}
			end++
		}
		if end >= len(b) {
			break // unterminated: not encoding/json's output
		}
		lit := b[start : end+1]
		str := string(lit[1 : len(lit)-1])
		if escaped {
			// Cannot fail on encoding/json's output; should it, the raw text is redacted instead.
			_ = json.Unmarshal(lit, &str)
		}
		if red := redact(str); red != str {
			enc, _ := json.Marshal(red) // a string always encodes
			out = append(append(out, b[done:start]...), enc...)
			done = end + 1
		}
		start = end
	}
	if out == nil {
		return b
	}
	return append(out, b[done:]...)
}
