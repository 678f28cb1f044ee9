package kubetest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/trueup/trueup/reconciler/terraform/tftest"
)

var built struct {
	once sync.Once
	path string
	err  error
}

// Trueup returns the trueup binary, built from ./cmd/trueup once per test binary (removed by Main).
func Trueup(t testing.TB) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "trueup-kubetest-")
		if err != nil {
			built.err = err
			return
		}
		onExit(func() { _ = os.RemoveAll(dir) })
		built.path, built.err = tftest.BuildCommand(dir, "./cmd/trueup")
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

// messageTail is how much of a failed container's output becomes its termination message, as
// terminationMessagePolicy FallbackToLogsOnError keeps it.
const messageTail = 2048

// Binary plays containers whose command is `trueup ...` with bin: the container's environment
// (with its mounts mapped to local directories) and PATH. The container's ctx ending (its pod
// deleted) sends SIGTERM, as a kubelet would.
func Binary(bin string) func(ctx context.Context, c Container) Exit {
	return func(ctx context.Context, c Container) Exit {
		if len(c.Command) == 0 || c.Command[0] != "trueup" {
			return Exit{Code: 127, Reason: "Error", Message: fmt.Sprintf("kubetest: not a trueup command: %q", c.Command)}
		}
		cmd := exec.CommandContext(ctx, bin, c.Command[1:]...)
		cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
		cmd.WaitDelay = 30 * time.Second
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		for k, v := range c.Env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		if err == nil {
			return Exit{Reason: "Completed"}
		}
		msg := out.Bytes()
		if len(msg) > messageTail {
			msg = msg[len(msg)-messageTail:]
		}
		code := int32(1)
		if cmd.ProcessState != nil && cmd.ProcessState.ExitCode() >= 0 {
			code = int32(cmd.ProcessState.ExitCode())
		}
		return Exit{Code: code, Reason: "Error", Message: string(msg)}
	}
}
