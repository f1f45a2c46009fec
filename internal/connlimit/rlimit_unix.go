//go:build unix

package connlimit

import "syscall"

// FileLimit raises the soft limit of open files to the hard limit (Go does
// so at start on Linux; this makes it explicit everywhere) and returns the
// limit in force, or 0 when it cannot be read.
func FileLimit() int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	if lim.Cur < lim.Max {
		raised := lim
		raised.Cur = raised.Max
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised) == nil {
			lim = raised
		}
	}
	if lim.Cur > 1<<30 {
		return 1 << 30
	}
	return int(lim.Cur)
}
