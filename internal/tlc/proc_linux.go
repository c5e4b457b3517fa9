//go:build linux

package tlc

import "syscall"

// sysProcAttr puts TLC in its own process group, so that killing the
// group kills everything it started, and has the kernel kill it when
// the thread that started it (so the test binary) dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killGroup kills the process group of pid (TLC and its children).
func killGroup(pid int) {
	_ = syscall.Kill(-pid, syscall.SIGKILL)
}
