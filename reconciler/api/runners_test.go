package api

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRunnerRoutesAreMountedWithoutTheAPIToken(t *testing.T) {
	var auth []string
	runners := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = append(auth, r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusTeapot)
	})
	s := newServer(t, &fakeBackend{}, func(o *Options) { o.Runners = runners })
	res := serve(t, s, http.MethodGet, "/runner/v1/runs/abc/job", "", "Authorization", "Bearer run-token")
	assert.Equal(t, http.StatusTeapot, res.code, "the runner routes answer for themselves, with the run's token")
	assert.Equal(t, []string{"Bearer run-token"}, auth)

	res = serve(t, newServer(t, &fakeBackend{}), http.MethodGet, "/runner/v1/runs/abc/job", "")
	assert.Equal(t, http.StatusNotFound, res.code, "without runners there are no runner routes")
}
