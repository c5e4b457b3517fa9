//go:build !unix

package tlc

import (
	"os"
	"syscall"
)

// sysProcAttr has no process groups to set up off Unix.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// killGroup kills the process pid (off Unix there is no group to kill).
func killGroup(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}
