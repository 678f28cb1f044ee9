package git

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/git/gittest"
)

// openMirror opens a mirror of remote in a fresh directory and closes it with the test.
func openMirror(t testing.TB, remote *gittest.Remote) *Mirror {
	t.Helper()
	m, err := Open(context.Background(), Options{URL: remote.URL(), Dir: filepath.Join(t.TempDir(), "mirror.git"), Branch: "main"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// polled opens a mirror of remote and polls it once.
func polled(t testing.TB, remote *gittest.Remote) *Mirror {
	t.Helper()
	m := openMirror(t, remote)
	_, err := m.Poll(context.Background())
	require.NoError(t, err)
	return m
}

func fetchCount(m *Mirror) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.fetches
}

// Eventually bounds for conditions reached by a background poller; generous, never a timing assertion.
const (
	timeoutForEventually = 30 * time.Second
	pollEvery            = 10 * time.Millisecond
)
