package reconciler

import "sync"

// coalesced lets one caller per key do a job at a time, and folds the requests that arrive
// meanwhile into one more turn of that caller. A job that publishes the latest state (a pull
// request's comment) is so done at most twice for any burst of requests, and still ends with
// the state after the last request.
type coalesced struct {
	mu sync.Mutex
	// running holds the keys whose job runs, and whether a request came since it started.
	running map[string]bool
}

// begin reports whether the caller is to do key's job now; false means another caller is doing it
// and will do it once more for this request.
func (c *coalesced) begin(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running == nil {
		c.running = map[string]bool{}
	}
	if _, busy := c.running[key]; busy {
		c.running[key] = true
		return false
	}
	c.running[key] = false
	return true
}

// again reports whether the caller doing key's job must do it once more (a request came while it
// ran); false ends its turn.
func (c *coalesced) again(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running[key] {
		c.running[key] = false
		return true
	}
	delete(c.running, key)
	return false
}

// len is how many keys have a job running.
func (c *coalesced) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.running)
}
