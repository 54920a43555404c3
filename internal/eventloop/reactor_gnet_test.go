//go:build darwin || dragonfly || freebsd || netbsd || openbsd || (linux && fanio_gnet)

package eventloop

import (
	"strings"
	"syscall"
	"testing"
)

// Connections accepted by one Serve spread over the loops.
func TestLoopsShareConnections(t *testing.T) {
	s := startServer(t, Options{EventLoops: 4}, &testHandler{})
	for i := 0; i < 64; i++ {
		c := dial(t, s)
		echoOnce(t, c, i)
	}
	s.reactor.loopsMu.RLock()
	served := len(s.reactor.loops) // loops that opened a connection
	s.reactor.loopsMu.RUnlock()
	if served < 2 {
		t.Errorf("64 connections were served by %d loop(s) of 4; want them spread", served)
	}
}

// A failed server ends Serve with the failure (a loop that died, seen in
// gnet's log).
func TestReactorFailureEndsServe(t *testing.T) {
	s, done, _ := serveOneLoop(t)
	// what gnet v2.10.0 logs when a loop's epoll_wait fails (reactor_default.go)
	s.reactor.log.Errorf("event-loop(%d) is exiting due to error: %v", 0, syscall.EBADF)
	if err := serveEnded(t, s, done); err == nil || !strings.Contains(err.Error(), "exiting due to error") {
		t.Fatalf("Serve = %v", err)
	}
}
