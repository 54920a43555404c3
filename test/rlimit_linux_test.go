//go:build linux

package integration

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
)

// execWithNofileLimit is the test binary re-executed as a wrapper
// (FANIO_TEST_NOFILE=n test.bin PROGRAM ARGS...): it lowers its open-file
// limit, soft and hard, to n and execs PROGRAM, which inherits the limit (Go
// programs raise only the soft limit at start, to the hard one). It does
// not return when FANIO_TEST_NOFILE is set.
func execWithNofileLimit() {
	v := os.Getenv("FANIO_TEST_NOFILE")
	if v == "" {
		return
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "FANIO_TEST_NOFILE=n test.bin PROGRAM ARGS...")
		os.Exit(2)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: n, Max: n}); err != nil {
		fmt.Fprintln(os.Stderr, "setrlimit:", err)
		os.Exit(2)
	}
	prog, err := exec.LookPath(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	env := make([]string, 0, len(os.Environ()))
	for _, kv := range os.Environ() {
		if len(kv) < 18 || kv[:18] != "FANIO_TEST_NOFILE=" {
			env = append(env, kv)
		}
	}
	err = syscall.Exec(prog, os.Args[1:], env)
	fmt.Fprintln(os.Stderr, "exec:", err)
	os.Exit(2)
}
