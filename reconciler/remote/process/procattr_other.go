//go:build !linux

package process

import "syscall"

// procAttr puts the runner in a process group of its own, so that stopping it reaches what it
// started. Outside Linux nothing ends it when trueup dies: its dead token does, at its next call.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
