//go:build linux && !fanio_gnet

package eventloop

import (
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// linksOf counts the connections a loop holds, on the loop.
func linksOf(t *testing.T, p *poller) int {
	t.Helper()
	got := make(chan int, 1)
	if err := p.Execute(func() {
		n := 0
		for _, k := range p.links {
			if k != nil {
				n++
			}
		}
		got <- n
	}); err != nil {
		t.Fatal(err)
	}
	return <-got
}

// Connections accepted by one Serve spread over the loops.
func TestLoopsShareConnections(t *testing.T) {
	s := startServer(t, Options{EventLoops: 4}, &testHandler{})
	var held []net.Conn
	for i := 0; i < 64; i++ {
		held = append(held, dial(t, s))
	}
	waitFor(t, "64 connections", func() bool { return s.CountConnections() == 64 })
	waitFor(t, "16 connections on each loop (round robin)", func() bool {
		for _, p := range s.reactor.loops {
			if linksOf(t, p) != 16 {
				return false
			}
		}
		return true
	})
	for _, c := range held {
		c.Close()
	}
	waitFor(t, "the loops to close every connection", func() bool {
		for _, p := range s.reactor.loops {
			if linksOf(t, p) != 0 {
				return false
			}
		}
		return true
	})
}

// A loop whose epoll_wait fails ends the server: Serve returns the failure,
// Done is closed, and the loop's connections are closed (their owners
// told), not left hanging.
func TestReactorFailureEndsServe(t *testing.T) {
	s, done, c := serveOneLoop(t)

	// The loop's epoll descriptor now names /dev/null: the epoll_wait in
	// flight still returns (the eventfd below wakes it), the next one fails
	// with EINVAL.
	p := s.reactor.loops[0]
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if err := unix.Dup3(int(null.Fd()), p.epfd, unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	_ = p.Execute(func() {})
	select {
	case err := <-done:
		if !errors.Is(err, syscall.EINVAL) {
			t.Fatalf("Serve = %v, want the loop's epoll_wait failure (EINVAL)", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve still running after the reactor failed")
	}
	select {
	case <-s.Done():
	default:
		t.Fatal("Done not closed")
	}
	if n, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatalf("the failed loop's connection still reads (%d bytes)", n)
	}
	waitFor(t, "the failed loop to refuse tasks", func() bool { return p.Execute(func() {}) != nil })
}
