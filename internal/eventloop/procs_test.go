//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package eventloop

import (
	"runtime"
	"testing"
)

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
