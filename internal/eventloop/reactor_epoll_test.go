//go:build linux && !fanio_gnet

package eventloop

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/gobwas/ws"
	"golang.org/x/sys/unix"

	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/pool"
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
	if err := serveEnded(t, s, done); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("Serve = %v, want the loop's epoll_wait failure (EINVAL)", err)
	}
	if n, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatalf("the failed loop's connection still reads (%d bytes)", n)
	}
	waitFor(t, "the failed loop to refuse tasks", func() bool { return p.Execute(func() {}) != nil })
}

// A TCP listener is accepted from directly: each connection's peer address
// is the client's own (IPv4 and IPv6), and a listener its owner closes ends
// Serve with net.ErrClosed and stops listening (the duplicate descriptor
// does not keep the port open).
func TestDirectAcceptor(t *testing.T) {
	for _, network := range []string{"tcp4", "tcp6"} {
		t.Run(network, func(t *testing.T) {
			addr := map[string]string{"tcp4": "127.0.0.1:0", "tcp6": "[::1]:0"}[network]
			ln, err := net.Listen(network, addr)
			if err != nil {
				t.Fatalf("no %s loopback here: %v", network, err)
			}
			h := &testHandler{held: make(chan *Conn, 1)}
			s := NewServer(Options{EventLoops: 1, Logger: quiet}, h)
			defer s.Stop(context.Background())
			if d := s.directAcceptor(ln); d == nil {
				t.Fatal("no direct acceptor for a TCP listener")
			} else {
				d.Close()
			}
			done := make(chan error, 1)
			go func() { done <- s.Serve(ln) }()
			c, err := net.Dial(network, ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write([]byte("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
				t.Fatal(err)
			}
			var sc *Conn
			select {
			case sc = <-h.held:
			case <-time.After(10 * time.Second):
				t.Fatal("the request never reached the handler")
			}
			if got, want := sc.RemoteAddr().String(), c.LocalAddr().String(); got != want {
				t.Errorf("RemoteAddr = %s, want the client's %s", got, want)
			}
			if got, want := sc.RemoteAddrPort(), c.LocalAddr().(*net.TCPAddr).AddrPort(); got != want {
				t.Errorf("RemoteAddrPort = %s, want the client's %s", got, want)
			}
			if n := testing.AllocsPerRun(10, func() { _ = sc.RemoteAddrPort() }); n != 0 {
				t.Errorf("RemoteAddrPort allocates %.0f times", n)
			}
			// Once the connection is closed, the address is not asked for
			// (its descriptor number could be another connection's by now).
			c.Close()
			deadline := time.Now().Add(10 * time.Second)
			for !sc.Closed() && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if a := sc.RemoteAddr(); a != nil {
				t.Errorf("RemoteAddr = %v after the connection closed, want nil", a)
			}
			if ap := sc.RemoteAddrPort(); ap.IsValid() {
				t.Errorf("RemoteAddrPort = %v after the connection closed, want none", ap)
			}
			ln.Close()
			select {
			case err := <-done:
				if !errors.Is(err, net.ErrClosed) {
					t.Errorf("Serve = %v after its listener was closed, want net.ErrClosed", err)
				}
			case <-time.After(3 * listenerRecheck):
				t.Fatal("Serve still running after its listener was closed")
			}
			if c2, err := net.Dial(network, ln.Addr().String()); err == nil {
				c2.Close()
				t.Fatal("the port still accepts after the listener was closed")
			}
		})
	}
}

// A connection is one allocation, its Conn with the link in it: keep it in
// its size class (it was a 192-byte Conn, a 64-byte link and a 56-byte
// address).
func TestConnSize(t *testing.T) {
	if got := unsafe.Sizeof(Conn{}); got > 224 {
		t.Errorf("Conn is %d bytes, want at most 224 (a Go size class)", got)
	}
}

// An answer the socket takes only part of when it is written at once
// (canWriteNowLocked, epoll loops only) leaves its rest queued, counted for what is left
// only: once the client has read everything, nothing is counted against
// the budget or the shared account. Frame sizes are tried until one was
// cut by the socket (each connection gets one chance: after it, the
// writes queue). The client keeps its default receive buffer: one smaller
// than the loopback MSS advertises no window once full (receiver-side
// silly-window avoidance) and never drains.
func TestPartlyWrittenAnswerCountsOnlyItsRest(t *testing.T) {
	cut := false
	for _, size := range []int{997, 3001, 9973, 30011, 60013} {
		var acct Account
		_, c, br, sc := wsConn(t, startServer, Options{MaxOutboundBytes: 64 << 20}, nil)
		sc.SetAccount(&acct)
		frame := codec.AppendFrame(nil, ws.OpBinary, bytes.Repeat([]byte("a"), size))
		var started bool
		for i := 0; i < 100_000; i++ {
			bb := pool.Get()
			bb.B = append(bb.B, frame...)
			if err := sc.WriteOwned(bb); err != nil {
				t.Fatal(err)
			}
			sc.mu.Lock()
			queued := sc.queue != nil
			if queued {
				started = sc.queue.items[sc.queue.head].flags&itemStarted != 0
			}
			sc.mu.Unlock()
			if queued {
				break
			}
		}
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		go func() { _, _ = io.Copy(io.Discard, br) }()
		deadline := time.Now().Add(10 * time.Second)
		for (sc.Queued() != 0 || acct.Load() != 0) && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if n := sc.Queued(); n != 0 {
			t.Fatalf("%d-byte frames: Queued() = %d once the client read everything (cut: %v), want 0", size, n, started)
		}
		if n := acct.Load(); n != 0 {
			t.Fatalf("%d-byte frames: Account = %d once the client read everything (cut: %v), want 0", size, n, started)
		}
		c.Close()
		if started {
			cut = true
			break
		}
	}
	if !cut {
		t.Fatal("no answer was cut by the socket: the case is not tested")
	}
}
