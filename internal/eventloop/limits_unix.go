//go:build unix

package eventloop

import "syscall"

// DefaultMaxConns is the default Options.MaxConns: the process's open-file
// limit (RLIMIT_NOFILE, soft) minus a reserve of 1/16 of it, at least 32 and
// at most 1024 descriptors, for listeners, the loops' pollers, connections
// being handed over, and the application's own files. -1 (no bound) when
// the limit is unlimited or unknown.
func DefaultMaxConns() int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || uint64(lim.Cur) > 1<<31 {
		return -1 // RLIM_INFINITY, or more than any server holds
	}
	n := int(lim.Cur)
	return max(1, n-min(1024, max(32, n/16)))
}
