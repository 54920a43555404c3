//go:build linux

package integration

import (
	"net"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Running out of file descriptors does not take cmd/fanio down. Under an
// open-file limit of 256, 300 idle TCP connections are opened and held,
// then closed, and an official client then connects and works:
//   - by default the server holds at most its connection cap (the limit
//     minus a reserve) and closes the excess at accept, so accept never
//     fails;
//   - with no cap (-max-connections -1), accept fails with EMFILE, and the
//     server backs off and goes on (gnet's own acceptor, used before, took
//     that as fatal and stopped every event loop for good).
func TestFDExhaustion(t *testing.T) {
	if backend() == backendReference {
		t.Skip("cmd/fanio has no reference counterpart")
	}
	bin := goBuild(t, repoRoot(), "./cmd/fanio")
	listening := regexp.MustCompile(`msg=listening addr=(127\.0\.0\.1:\d+)`)
	for _, tc := range []struct {
		name     string
		args     []string
		wantLogs string // in the server's log during the flood
	}{
		{name: "default-cap"},
		{name: "no-cap", args: []string{"-max-connections", "-1"}, wantLogs: "too many open files"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{bin, "-addr", "127.0.0.1:0", "-token", "s3cret", "-log-level", "info"}, tc.args...)
			p := startProc(t, listening, []string{"FANIO_TEST_NOFILE=256"}, os.Args[0], args...)
			var conns []net.Conn
			for i := 0; i < 300; i++ {
				c, err := net.DialTimeout("tcp", p.addr, 5*time.Second)
				if err != nil {
					t.Fatalf("connection %d: %v", i, err)
				}
				conns = append(conns, c)
			}
			time.Sleep(time.Second) // the server takes what it can
			if !p.alive() {
				t.Fatal("the server died under 300 connections")
			}
			if tc.wantLogs != "" && !strings.Contains(p.out.String(), tc.wantLogs) {
				t.Errorf("no %q in the server's log: the flood did not reach the limit", tc.wantLogs)
			}
			for _, c := range conns {
				c.Close()
			}
			time.Sleep(200 * time.Millisecond)
			runNode(t, nil, "sio/hub.mjs", "--url", "http://"+p.addr, "--path", "/socket.io/", "--timeout", "30000", "--token", "s3cret")
			if err := p.stop(t); err != nil {
				t.Errorf("fanio exited with %v", err)
			}
		})
	}
}
