// Package proctree finds and kills a process with everything it started, for tests and benchmarks
// that crash trueup the way a machine or container dies: whole, Terraform's own process groups and
// its provisioners' shells included (Terraform runs in a process group of its own, so killing
// trueup's group alone leaves them running).
package proctree

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Descendants returns pid and every process below it, read from /proc (Linux).
func Descendants(pid int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// The command name (field 2) is in parentheses and may hold spaces: fields follow the last ')'.
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) < 2 {
			continue
		}
		if parent, err := strconv.Atoi(fields[1]); err == nil {
			children[parent] = append(children[parent], child)
		}
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// Crash stops pid and everything below it, then kills them all with SIGKILL, and returns the time of
// the kill. Stopping first keeps any of them from reacting to another's death.
func Crash(pid int) time.Time {
	pids := Descendants(pid)
	for _, p := range pids {
		_ = syscall.Kill(p, syscall.SIGSTOP)
	}
	at := time.Now()
	for _, p := range pids {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
	return at
}
