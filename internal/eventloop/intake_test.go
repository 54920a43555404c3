package eventloop

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/fanio/fanio/internal/codec"
)

// adoptPair gives the server side of a fresh loopback connection to s.Adopt
// with prefix, and returns the client side.
func adoptPair(t *testing.T, s *Server, prefix string, wrap bool) net.Conn {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if wrap {
		sc = struct{ net.Conn }{sc}
	}
	if err := s.Adopt(sc, []byte(prefix)); err != nil {
		t.Fatal(err)
	}
	return c
}

// A connection taken over with bytes already read (a request net/http
// parsed, then what it had buffered) is served as if those bytes had come
// from the socket, on a loop and on goroutines alike; the rest of a request
// cut in the middle comes from the socket.
func TestAdoptWithPrefix(t *testing.T) {
	for _, portable := range []bool{false, true} {
		t.Run(fmt.Sprintf("portable=%v", portable), func(t *testing.T) {
			s := NewServer(Options{Logger: quiet}, &testHandler{})
			t.Cleanup(func() { _ = s.Stop(context.Background()) })
			upgradeReq := "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
			// The upgrade request and the start of a first frame are the prefix.
			frame := ws.MaskFrameInPlace(ws.NewTextFrame([]byte("carried over")))
			var fb strings.Builder
			_ = ws.WriteFrame(&fb, frame)
			raw := fb.String()
			c := adoptPair(t, s, upgradeReq+raw[:5], portable)
			if _, err := io.WriteString(c, raw[5:]); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil || resp.StatusCode != 101 {
				t.Fatalf("upgrade: %v %v", resp, err)
			}
			if f := readFrame(t, br); string(f.Payload) != "carried over" {
				t.Fatalf("echo %q", f.Payload)
			}
			writeClientFrame(t, c, true, ws.OpText, false, []byte("next"))
			if f := readFrame(t, br); string(f.Payload) != "next" {
				t.Fatalf("echo %q", f.Payload)
			}
			if n := s.CountConnections(); n != 1 {
				t.Errorf("CountConnections() = %d, want 1", n)
			}
			c.Close()
			waitFor(t, "the connection to be counted out", func() bool { return s.CountConnections() == 0 })
		})
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// divertHandler hands requests for /other to a net/http server.
type divertHandler struct {
	testHandler
	srv      *http.Server
	conns    chan net.Conn
	released atomic.Int32
}

func (h *divertHandler) Divert(req *codec.Request) bool {
	return strings.HasPrefix(string(req.Path), "/other")
}
func (h *divertHandler) Handoff(nc net.Conn, release func()) {
	h.conns <- &releaseConn{Conn: nc, release: func() { h.released.Add(1); release() }}
}

type releaseConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *releaseConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

type chanListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}
func (l *chanListener) Close() error   { l.once.Do(func() { close(l.done) }); return nil }
func (l *chanListener) Addr() net.Addr { return &net.TCPAddr{} }

// A request the handler diverts goes, with the rest of its connection, to a
// net/http server: the first request of a connection and one after a
// request served on the loop; a streamed response then is net/http's.
func TestDivert(t *testing.T) {
	h := &divertHandler{conns: make(chan net.Conn, 4)}
	h.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Served-By", "net/http")
		fmt.Fprintf(w, "%s %s %s", r.Method, r.URL.Path, body)
	})}
	ln := &chanListener{conns: h.conns, done: make(chan struct{})}
	go h.srv.Serve(ln)
	t.Cleanup(func() { h.srv.Close() })
	s := startServer(t, Options{}, h)

	c := dial(t, s)
	br := bufio.NewReader(c)
	// served on the loop, then diverted (pipelined: both in one write)
	_, _ = io.WriteString(c, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhiPOST /other HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
	for _, want := range []string{"hi", "POST /other hello"} {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if string(b) != want {
			t.Fatalf("got %q, want %q", b, want)
		}
	}
	// the connection stays with net/http
	_, _ = io.WriteString(c, "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.Header.Get("X-Served-By") != "net/http" {
		t.Fatalf("after the hand-off: %v %v", resp, err)
	}
	resp.Body.Close()
	if n := s.CountConnections(); n != 1 {
		t.Errorf("CountConnections() = %d with the connection on net/http, want 1", n)
	}
	c.Close()
	waitFor(t, "the handed-off connection to be released", func() bool { return s.CountConnections() == 0 && h.released.Load() == 1 })
}

// flakyListener fails Accept with err n times, then accepts.
type flakyListener struct {
	net.Listener
	mu    sync.Mutex
	fails int
	err   error
}

func (l *flakyListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	if l.fails > 0 {
		l.fails--
		l.mu.Unlock()
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: l.err}
	}
	l.mu.Unlock()
	return l.Listener.Accept()
}

// Running out of descriptors, memory or buffers does not stop Serve: it
// backs off and serves once accept works again.
func TestAcceptErrorsBackOff(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM} {
		t.Run(errno.Error(), func(t *testing.T) {
			s := serveListener(t, Options{EventLoops: 1}, &testHandler{}, func(ln net.Listener) net.Listener {
				return &flakyListener{Listener: ln, fails: 4, err: errno}
			})
			c := dial(t, s)
			echoOnce(t, c, 0)
			if n := s.AcceptErrors(); n != 4 {
				t.Errorf("AcceptErrors() = %d, want 4", n)
			}
		})
	}
	// An error that is no passing condition ends Serve with it.
	s := NewServer(Options{EventLoops: 1, Logger: quiet}, &testHandler{})
	defer s.Stop(context.Background())
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	bad := errors.New("listener broken for good")
	err := s.Serve(&flakyListener{Listener: ln, fails: 1, err: bad})
	if !errors.Is(err, bad) {
		t.Fatalf("Serve = %v, want %v", err, bad)
	}
}

// Past MaxConns, new connections are closed at once and counted; a slot
// freed is usable again.
func TestMaxConns(t *testing.T) {
	s := startServer(t, Options{MaxConns: 3}, &testHandler{})
	var held []net.Conn
	for i := 0; i < 3; i++ {
		c := dial(t, s)
		held = append(held, c)
	}
	waitFor(t, "3 connections", func() bool { return s.CountConnections() == 3 })
	c := dial(t, s)
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("a connection past MaxConns was served")
	}
	if n := s.Refused(); n != 1 {
		t.Errorf("Refused() = %d, want 1", n)
	}
	held[0].Close()
	waitFor(t, "a free slot", func() bool { return s.CountConnections() == 2 })
	echoOnce(t, dial(t, s), 0)
	for _, c := range held[1:] {
		echoOnce(t, c, 1)
	}
}
