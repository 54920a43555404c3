//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package eventloop

import (
	"context"
	"net"
	"runtime"
	"testing"
	"time"
)

// serveOneLoop serves on one reactor loop, with Serve's result on done and
// a connection that was answered once.
func serveOneLoop(t *testing.T) (*Server, <-chan error, net.Conn) {
	t.Helper()
	s := NewServer(Options{EventLoops: 1, Logger: quiet}, &testHandler{})
	t.Cleanup(func() { _ = s.Stop(context.Background()) })
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	echoOnce(t, c, 0)
	return s, done, c
}

// serveEnded waits for the Serve of serveOneLoop to end after its reactor
// failed, checks that Done is closed, and returns Serve's error.
func serveEnded(t *testing.T, s *Server, done <-chan error) error {
	t.Helper()
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Serve still running after the reactor failed")
	}
	select {
	case <-s.Done():
	default:
		t.Fatal("Done not closed")
	}
	return err
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
