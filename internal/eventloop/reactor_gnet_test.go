//go:build darwin || dragonfly || freebsd || netbsd || openbsd || (linux && fanio_gnet)

package eventloop

import (
	"context"
	"net"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
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

// With SpareProc, the reactor keeps one P more than it has loops blocked in
// epoll_wait; without it, GOMAXPROCS is left alone and a loop without a
// spare P yields after each batch of reads.
func TestSpareProc(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	runtime.GOMAXPROCS(2)
	s := startServer(t, Options{EventLoops: 2}, &testHandler{})
	if got := runtime.GOMAXPROCS(0); got != 2 || !s.reactor.yieldAfterTraffic {
		t.Fatalf("default: GOMAXPROCS = %d (want 2, unchanged), yield %v (want true)", got, s.reactor.yieldAfterTraffic)
	}
	if s := startServer(t, Options{EventLoops: 1}, &testHandler{}); s.reactor.yieldAfterTraffic {
		t.Fatal("1 loop with GOMAXPROCS 2 has a spare P but yields")
	}
	s = startServer(t, Options{EventLoops: 2, SpareProc: true}, &testHandler{})
	if got := runtime.GOMAXPROCS(0); got != 3 || s.reactor.yieldAfterTraffic {
		t.Fatalf("SpareProc, 2 loops: GOMAXPROCS = %d (want 3), yield %v (want false)", got, s.reactor.yieldAfterTraffic)
	}
	startServer(t, Options{EventLoops: 1, SpareProc: true}, &testHandler{})
	if got := runtime.GOMAXPROCS(0); got != 3 {
		t.Fatalf("GOMAXPROCS lowered to %d; the reactor only raises it", got)
	}
}

// A failed server ends Serve with the failure (a loop that died, seen in
// gnet's log).
func TestReactorFailureEndsServe(t *testing.T) {
	s := NewServer(Options{EventLoops: 1, Logger: quiet}, &testHandler{})
	defer s.Stop(context.Background())
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	echoOnce(t, c, 0)
	// what gnet v2.10.0 logs when a loop's epoll_wait fails (reactor_default.go)
	s.reactor.log.Errorf("event-loop(%d) is exiting due to error: %v", 0, syscall.EBADF)
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "exiting due to error") {
			t.Fatalf("Serve = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve still running after the reactor failed")
	}
	select {
	case <-s.Done():
	default:
		t.Fatal("Done not closed")
	}
}
