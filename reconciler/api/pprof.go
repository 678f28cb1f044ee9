package api

import (
	"net/http"
	"net/http/pprof"
)

// pprofHandler returns Go's profiling endpoints under /debug/pprof/, each behind the bearer token:
// profiles show the daemon's internals and cost CPU to take, so they are for operators only.
func (s *Server) pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index) // also serves the named profiles (heap, goroutine, ...)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodPost { // pprof's symbol lookup may POST
			w.Header().Set("Allow", "GET, POST")
			s.writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed")
			return
		}
		if s.authorize(w, r) {
			mux.ServeHTTP(w, r)
		}
	})
}
