//go:build unix

package wire

import "syscall"

// maxFDs returns the process's open-file limit.
func maxFDs() int64 {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0
	}
	return int64(l.Cur)
}
