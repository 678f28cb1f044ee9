package proctree

import (
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A shell that starts a grandchild in a process group of its own: Crash kills all three.
func TestCrashKillsTheWholeTree(t *testing.T) {
	cmd := exec.Command("sh", "-c", `setsid sleep 300 & echo $! ; wait`)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	buf := make([]byte, 32)
	n, err := out.Read(buf)
	require.NoError(t, err)
	var grandchild int
	_, err = fmtSscan(string(buf[:n]), &grandchild)
	require.NoError(t, err)

	tree := Descendants(cmd.Process.Pid)
	assert.Equal(t, cmd.Process.Pid, tree[0])
	assert.True(t, slices.Contains(tree, grandchild), "the setsid grandchild is found: %v", tree)
	Crash(cmd.Process.Pid)
	_ = cmd.Wait()
	require.Eventually(t, func() bool { return !alive(grandchild) }, 10*time.Second, 20*time.Millisecond, "the grandchild in its own group is dead too")
}

func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	// A zombie (nobody reaps it here) counts as dead.
	return !isZombie(pid)
}
