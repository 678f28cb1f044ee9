package reconciler

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCoalescedFoldsABurstIntoOneMoreTurnAndEndsWithTheLastRequest(t *testing.T) {
	var c coalesced
	var state, seen, runs atomic.Int64
	started, release := make(chan struct{}), make(chan struct{})
	job := func(first bool) {
		if !c.begin("pr:1") {
			return
		}
		for {
			runs.Add(1)
			if first {
				close(started)
				<-release
				first = false
			}
			seen.Store(state.Load())
			if !c.again("pr:1") {
				return
			}
		}
	}
	first := make(chan struct{})
	go func() { defer close(first); job(true) }()
	<-started
	var burst sync.WaitGroup
	for i := 1; i <= 50; i++ { // a burst while the first turn runs: each request returns at once
		state.Store(int64(i))
		burst.Add(1)
		go func() { defer burst.Done(); job(false) }()
	}
	burst.Wait()
	close(release)
	<-first
	assert.Equal(t, int64(2), runs.Load(), "fifty requests during one turn make one more turn")
	assert.Equal(t, int64(50), seen.Load(), "the last turn saw the state after the last request")
	assert.Zero(t, c.len(), "nothing is left behind")

	assert.True(t, c.begin("pr:2"), "a key nobody runs is the caller's")
	assert.True(t, c.begin("pr:3"), "keys do not wait on each other")
	assert.False(t, c.again("pr:2"))
	assert.False(t, c.again("pr:3"))
}
