package api

import (
	"net/http"
	"slices"
	"strings"
)

// methods routes one path by method. It is used instead of method patterns ("GET /x") because the
// ServeMux answers those mismatches in plain text.
type methods map[string]http.HandlerFunc

// byMethod serves m and answers any other method with a JSON 405.
func (s *Server) byMethod(m methods) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method := r.Method
		if method == http.MethodHead {
			method = http.MethodGet // net/http drops the body of a HEAD response
		}
		if h, ok := m[method]; ok {
			h(w, r)
			return
		}
		s.methodNotAllowed(w, r, m.allowed()...)
	})
}

func (m methods) allowed() []string {
	var out []string
	for k := range m {
		out = append(out, k)
		if k == http.MethodGet {
			out = append(out, http.MethodHead)
		}
	}
	slices.Sort(out)
	return out
}

func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request, allowed ...string) {
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	s.writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed on "+r.URL.Path+"; use "+strings.Join(allowed, " or "))
}
