package process

import "syscall"

// procAttr puts the runner in a process group of its own, so that stopping it reaches what it
// started, and makes it die with trueup.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
