package pgtest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// envPanicHelper makes TestHelperPanics start a server and panic, in a child test binary.
const envPanicHelper = "PGTEST_PANIC_HELPER"

func TestHelperPanics(t *testing.T) {
	if os.Getenv(envPanicHelper) != "1" {
		t.Skip("run by TestServerDiesWithTheTestBinary")
	}
	srv := New(t)
	fmt.Printf("pid=%d dir=%s\n", srv.cmd.Process.Pid, srv.dir)
	panic("a test binary that dies without cleaning up")
}

// A test binary that panics (no cleanup, no Main epilogue) takes its servers with it: they get the
// parent-death signal.
func TestServerDiesWithTheTestBinary(t *testing.T) {
	Start(t) // skips or fails like the others when PostgreSQL is missing
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperPanics$", "-test.v")
	cmd.Env = append(os.Environ(), envPanicHelper+"=1")
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "the helper panicked")
	var (
		pid int
		dir string
	)
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if _, err := fmt.Sscanf(sc.Text(), "pid=%d dir=%s", &pid, &dir); err == nil {
			break
		}
	}
	require.NotZero(t, pid, "the helper started a server: %s", out)
	t.Cleanup(func() { _ = os.RemoveAll(filepath.Dir(dir)) }) // the panic left its files
	require.Eventually(t, func() bool { return !alive(pid) }, 20*time.Second, 50*time.Millisecond,
		"postgres %d outlived the test binary that started it", pid)
}

// alive reports whether process pid exists and is not a zombie.
func alive(pid int) bool {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	fields := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}
