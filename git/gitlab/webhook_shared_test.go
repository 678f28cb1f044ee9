package gitlab_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/trueup/trueup/git/gitlab"
	"github.com/trueup/trueup/git/gitlab/gitlabtest"
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
// the shared record (the token is checked first).
func TestWebhookRedeliveryToAnotherReplicaIsDropped(t *testing.T) {
	srv := gitlabtest.NewServer(t)
	shared := &sharedDeliveries{seen: map[string]bool{}}
	withShared := func(o *gitlab.WebhookOptions) { o.Deliveries = shared.record }
	a, sinkA := newHandler(t, withShared)
	b, sinkB := newHandler(t, withShared)
	push := srv.PushHook("main", "", rev)

	code, _ := serve(a, gitlabtest.Hook(secret, "Push Hook", "u-1", push))
	assert.Equal(t, http.StatusAccepted, code)
	code, body := serve(b, gitlabtest.Hook(secret, "Push Hook", "u-1", push))
	assert.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, "duplicate")
	assert.Equal(t, 1, sinkA.count()+sinkB.count())

	code, _ = serve(b, gitlabtest.Hook("wrong", "Push Hook", "u-forged", push))
	assert.Equal(t, http.StatusUnauthorized, code)
	assert.NotContains(t, shared.seen, "u-forged", "a forged request records nothing")

	// While the record is down, each replica still drops what it saw itself.
	shared.down = true
	code, _ = serve(b, gitlabtest.Hook(secret, "Push Hook", "u-2", push))
	assert.Equal(t, http.StatusAccepted, code)
	code, _ = serve(b, gitlabtest.Hook(secret, "Push Hook", "u-2", push))
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, 2, sinkA.count()+sinkB.count())
}
