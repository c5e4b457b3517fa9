//go:build unix && !linux

package tlc

import "syscall"

// sysProcAttr puts TLC in its own process group, so that killing the
// group kills everything it started.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// killGroup kills the process group of pid (TLC and its children).
func killGroup(pid int) {
	_ = syscall.Kill(-pid, syscall.SIGKILL)
}
