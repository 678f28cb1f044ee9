package github_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/trueup/trueup/git/github"
	"github.com/trueup/trueup/git/github/githubtest"
)

// sharedDeliveries is the record replicas share, as a database would keep it.
type sharedDeliveries struct {
	mu   sync.Mutex
	seen map[string]bool
	down bool
}

func (d *sharedDeliveries) record(_ context.Context, id string) (bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.down {
		return false, errors.New("dial tcp 127.0.0.1:5432: connection refused")
	}
	if d.seen[id] {
		return false, nil
	}
	d.seen[id] = true
	return true, nil
}

// A redelivery that reaches the other replica is dropped there too, and forged requests never reach
// the shared record (the signature is checked first).
func TestWebhookRedeliveryToAnotherReplicaIsDropped(t *testing.T) {
	shared := &sharedDeliveries{seen: map[string]bool{}}
	withShared := func(o *github.WebhookOptions) { o.Deliveries = shared.record }
	a, sinkA := newHandler(t, withShared)
	b, sinkB := newHandler(t, withShared)
	payload := pushPayload("refs/heads/main", string(rev))

	code, _ := serve(a, githubtest.SignedRequest(secret, "push", "d-1", payload))
	assert.Equal(t, http.StatusAccepted, code)
	code, body := serve(b, githubtest.SignedRequest(secret, "push", "d-1", payload))
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "duplicate", body["status"])
	assert.Equal(t, 1, sinkA.calls()+sinkB.calls())

	code, _ = serve(b, githubtest.SignedRequest("wrong secret", "push", "d-forged", payload))
	assert.Equal(t, http.StatusUnauthorized, code)
	assert.NotContains(t, shared.seen, "d-forged", "an unsigned request records nothing")

	// While the record is down, each replica still drops what it saw itself.
	shared.down = true
	code, _ = serve(b, githubtest.SignedRequest(secret, "push", "d-2", payload))
	assert.Equal(t, http.StatusAccepted, code)
	code, _ = serve(b, githubtest.SignedRequest(secret, "push", "d-2", payload))
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, 2, sinkA.calls()+sinkB.calls())
}
