package api

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestProfilingIsOffByDefault(t *testing.T) {
	s := newServer(t, &fakeBackend{})
	res := serve(t, s, http.MethodGet, "/debug/pprof/heap?debug=1", "", "Authorization", "Bearer "+testToken)
	assert.Equal(t, http.StatusNotFound, res.code)
}

func TestProfilingNeedsTheToken(t *testing.T) {
	s := newServer(t, &fakeBackend{}, func(o *Options) { o.Profiling = true })
	res := serve(t, s, http.MethodGet, "/debug/pprof/heap?debug=1", "")
	assert.Equal(t, http.StatusUnauthorized, res.code)
	res = serve(t, s, http.MethodGet, "/debug/pprof/heap?debug=1", "", "Authorization", "Bearer wrong")
	assert.Equal(t, http.StatusUnauthorized, res.code)
	res = serve(t, s, http.MethodDelete, "/debug/pprof/heap", "", "Authorization", "Bearer "+testToken)
	assert.Equal(t, http.StatusMethodNotAllowed, res.code)

	res = serve(t, s, http.MethodGet, "/debug/pprof/heap?debug=1", "", "Authorization", "Bearer "+testToken)
	assert.Equal(t, http.StatusOK, res.code)
	assert.Contains(t, res.raw, "heap profile:")
	res = serve(t, s, http.MethodGet, "/debug/pprof/", "", "Authorization", "Bearer "+testToken)
	assert.Equal(t, http.StatusOK, res.code)
	assert.Contains(t, res.raw, "goroutine")
}

func TestProfilingWithoutATokenIsRefused(t *testing.T) {
	s := newServer(t, &fakeBackend{}, func(o *Options) { o.Profiling, o.Token = true, "" })
	res := serve(t, s, http.MethodGet, "/debug/pprof/heap?debug=1", "")
	assert.Equal(t, http.StatusForbidden, res.code)
}
