package api

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestLeaderSaysWhichReplicaLeads(t *testing.T) {
	single := newServer(t, &fakeBackend{})
	res := serveAPI(t, single, http.MethodGet, "/api/v1/leader", "", bearer(testToken)...)
	assert.Equal(t, http.StatusOK, res.code)
	assert.Equal(t, map[string]any{"replicated": false, "leading": true, "lease_age_seconds": 0.0}, res.json, "one replica always leads")

	expires := testNow.Add(10 * time.Second)
	standby := newServer(t, &fakeBackend{}, func(o *Options) {
		o.Leadership = func() Leadership {
			return Leadership{Replicated: true, Self: "b", Leader: "a", Epoch: 7, LeaseAgeSeconds: 4.5, Expires: expires}
		}
	})
	res = serveAPI(t, standby, http.MethodGet, "/api/v1/leader", "", bearer(testToken)...)
	assert.Equal(t, map[string]any{
		"replicated": true, "self": "b", "leading": false, "leader": "a", "epoch": 7.0,
		"lease_age_seconds": 4.5, "expires": expires.Format(time.RFC3339),
	}, res.json)

	assert.Equal(t, http.StatusUnauthorized, serveAPI(t, standby, http.MethodGet, "/api/v1/leader", "").code,
		"it is a read of the API: the token is needed when one is set")
	assert.Equal(t, http.StatusMethodNotAllowed, serveAPI(t, standby, http.MethodPost, "/api/v1/leader", "", bearer(testToken)...).code)
}
