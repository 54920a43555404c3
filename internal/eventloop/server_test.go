package eventloop

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/klauspost/compress/flate"

	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/pool"
)

// testHandler answers /echo with the body, /hold by waiting for a release,
// and upgrades /ws to a WebSocket that echoes messages.
type testHandler struct {
	held    chan *Conn
	deflate bool
}

func (h *testHandler) ServeRequest(c *Conn, req *codec.Request, body []byte) {
	switch string(req.Path) {
	case "/echo":
		bb := pool.Get()
		bb.B = codec.AppendStatusLine(bb.B, 200)
		bb.B = codec.AppendContentLength(bb.B, len(body))
		bb.B = append(bb.B, "\r\n"...)
		bb.B = append(bb.B, body...)
		_ = c.Respond(bb, !req.KeepAlive)
	case "/hold":
		h.held <- c
	case "/ws":
		bb := pool.Get()
		bb.B = codec.AppendStatusLine(bb.B, 101)
		bb.B = append(bb.B, "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
		bb.B = codec.AppendAcceptKey(bb.B, req.Header("Sec-WebSocket-Key"))
		bb.B = append(bb.B, "\r\n"...)
		deflate := false
		if h.deflate && codec.NegotiateDeflate(req.Header("Sec-WebSocket-Extensions")) {
			deflate = true
			bb.B = codec.AppendHeader(bb.B, "Sec-WebSocket-Extensions", codec.DeflateResponseExtension)
		}
		bb.B = append(bb.B, "\r\n"...)
		c.AcceptWebSocket(bb, echoOwner{}, deflate)
	default:
		_ = c.Respond(ErrorResponse(404, "", false), false)
	}
}

type echoOwner struct{}

func (echoOwner) OnMessage(c *Conn, data []byte, binary bool) {
	op := ws.OpText
	if binary {
		op = ws.OpBinary
	}
	bb := pool.Get()
	bb.B = codec.AppendFrame(bb.B, op, data)
	_ = c.WriteOwned(bb)
}
func (echoOwner) OnClose(*Conn, error) {}

// quiet drops the logs of servers under test (accept errors are logged at
// error level, and tests provoke them).
var quiet = slog.New(slog.DiscardHandler)

// testServer is a Server serving a loopback listener.
type testServer struct {
	*Server
	ln net.Listener
}

func (s *testServer) Addr() net.Addr { return s.ln.Addr() }

// startServer serves on a reactor loop (the default path).
func startServer(t *testing.T, cfg Options, h Handler) *testServer {
	t.Helper()
	return serveListener(t, cfg, h, nil)
}

// startPortable serves every connection on goroutines (netLink): the
// listener hides that its connections are TCP, as a *tls.Conn would.
func startPortable(t *testing.T, cfg Options, h Handler) *testServer {
	t.Helper()
	return serveListener(t, cfg, h, func(ln net.Listener) net.Listener { return opaqueListener{ln} })
}

type opaqueListener struct{ net.Listener }

func (l opaqueListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return struct{ net.Conn }{c}, nil
}

func serveListener(t *testing.T, cfg Options, h Handler, wrap func(net.Listener) net.Listener) *testServer {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	s := NewServer(cfg, h)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		ln = wrap(ln)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Stop(ctx)
		select {
		case err := <-done:
			if err != ErrServerClosed {
				t.Errorf("Serve returned %v after Stop, want ErrServerClosed", err)
			}
		case <-ctx.Done():
			t.Error("Serve did not return after Stop")
		}
	})
	return &testServer{Server: s, ln: ln}
}

type starter func(t *testing.T, cfg Options, h Handler) *testServer

// bothPaths runs f against a server on reactor loops and one on goroutines:
// the Conn code is the same, only the byte transport differs.
func bothPaths(t *testing.T, f func(t *testing.T, start starter)) {
	t.Run("reactor", func(t *testing.T) { f(t, startServer) })
	t.Run("portable", func(t *testing.T) { f(t, startPortable) })
}

func dial(t *testing.T, s *testServer) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", s.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

func TestPipelinedRequests(t *testing.T) {
	bothPaths(t, func(t *testing.T, start starter) {
		s := start(t, Options{EventLoops: 2}, &testHandler{})
		c := dial(t, s)
		var reqs bytes.Buffer
		for i := 0; i < 20; i++ {
			body := fmt.Sprintf("body-%d", i)
			fmt.Fprintf(&reqs, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
		}
		// Split the bytes at awkward places to exercise partial parsing.
		raw := reqs.Bytes()
		for len(raw) > 0 {
			n := min(len(raw), 37)
			if _, err := c.Write(raw[:n]); err != nil {
				t.Fatal(err)
			}
			raw = raw[n:]
		}
		br := bufio.NewReader(c)
		for i := 0; i < 20; i++ {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("response %d: %v", i, err)
			}
			b, _ := io.ReadAll(resp.Body)
			if want := fmt.Sprintf("body-%d", i); string(b) != want {
				t.Fatalf("response %d body %q, want %q", i, b, want)
			}
		}
	})
}

func TestHeldResponseBlocksPipeline(t *testing.T) {
	bothPaths(t, func(t *testing.T, start starter) {
		h := &testHandler{held: make(chan *Conn, 1)}
		s := start(t, Options{}, h)
		c := dial(t, s)
		_, _ = io.WriteString(c, "GET /hold HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi")
		held := <-h.held
		go func() {
			time.Sleep(20 * time.Millisecond)
			bb := pool.Get()
			bb.B = append(bb.B, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nheld"...)
			_ = held.Respond(bb, false) // from another goroutine
		}()
		br := bufio.NewReader(c)
		for _, want := range []string{"held", "hi"} {
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			if string(b) != want {
				t.Fatalf("got %q, want %q (responses must keep request order)", b, want)
			}
		}
	})
}

func TestBadRequests(t *testing.T) {
	bothPaths(t, func(t *testing.T, start starter) {
		s := start(t, Options{MaxHeaderBytes: 1024, MaxHeaders: 32, MaxBodyBytes: 100}, &testHandler{})
		cases := []struct {
			name, req string
			status    int
		}{
			{"garbage", "\x00\x01\x02 nonsense\r\n\r\n", 400},
			{"bad request line", "GET\r\n\r\n", 400},
			{"bad header", "GET / HTTP/1.1\r\nNoColon\r\n\r\n", 400},
			{"header too large", "GET / HTTP/1.1\r\nX: " + strings.Repeat("a", 2000) + "\r\n\r\n", 431},
			{"body too large", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n", 413},
			{"bad content-length", "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400},
			{"http/1.1 without Host", "GET /echo HTTP/1.1\r\nX: y\r\n\r\n", 400},
			{"two Host fields", "GET /echo HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
			{"too many fields", "GET /echo HTTP/1.1\r\nHost: x\r\n" + strings.Repeat("X: y\r\n", 40) + "\r\n", 431},
			{"http/2.0", "GET / HTTP/2.0\r\n\r\n", 505},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c := dial(t, s)
				_, _ = io.WriteString(c, tc.req)
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != tc.status {
					t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
				}
				// The server closes after a parse error.
				_, _ = io.ReadAll(resp.Body)
				if _, err := c.Read(make([]byte, 1)); err != io.EOF {
					t.Fatalf("connection not closed after error: %v", err)
				}
			})
		}
	})
}

func upgrade(t *testing.T, c net.Conn, ext string) *bufio.Reader {
	t.Helper()
	req := "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	if ext != "" {
		req += "Sec-WebSocket-Extensions: " + ext + "\r\n"
	}
	_, _ = io.WriteString(c, req+"\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("bad upgrade answer: %d %v", resp.StatusCode, resp.Header)
	}
	return br
}

func writeClientFrame(t *testing.T, c net.Conn, fin bool, op ws.OpCode, rsv1 bool, payload []byte) {
	t.Helper()
	f := ws.NewFrame(op, fin, append([]byte(nil), payload...))
	if rsv1 {
		f.Header.Rsv = ws.Rsv(true, false, false)
	}
	f = ws.MaskFrameInPlace(f)
	if err := ws.WriteFrame(c, f); err != nil {
		t.Fatal(err)
	}
}

func readFrame(t *testing.T, br *bufio.Reader) ws.Frame {
	t.Helper()
	f, err := ws.ReadFrame(br)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestWebSocketEcho(t *testing.T) {
	bothPaths(t, func(t *testing.T, start starter) {
		s := start(t, Options{MaxMessageBytes: 2 << 20}, &testHandler{})
		c := dial(t, s)
		br := upgrade(t, c, "")

		writeClientFrame(t, c, true, ws.OpText, false, []byte("hello"))
		if f := readFrame(t, br); f.Header.OpCode != ws.OpText || string(f.Payload) != "hello" {
			t.Fatalf("got %v %q", f.Header.OpCode, f.Payload)
		}
		// Fragmented binary message with a ping in the middle.
		writeClientFrame(t, c, false, ws.OpBinary, false, []byte{1, 2})
		writeClientFrame(t, c, true, ws.OpPing, false, []byte("p"))
		writeClientFrame(t, c, true, ws.OpContinuation, false, []byte{3})
		if f := readFrame(t, br); f.Header.OpCode != ws.OpPong || string(f.Payload) != "p" {
			t.Fatalf("want pong first, got %v %q", f.Header.OpCode, f.Payload)
		}
		if f := readFrame(t, br); f.Header.OpCode != ws.OpBinary || !bytes.Equal(f.Payload, []byte{1, 2, 3}) {
			t.Fatalf("got %v %v", f.Header.OpCode, f.Payload)
		}
		// A big frame that arrives over many reads.
		big := bytes.Repeat([]byte("0123456789"), 150_000)
		go func() {
			_ = ws.WriteFrame(c, ws.MaskFrameInPlace(ws.NewBinaryFrame(append([]byte(nil), big...))))
		}()
		if f := readFrame(t, br); !bytes.Equal(f.Payload, big) {
			t.Fatalf("big frame mismatch: %d bytes back", len(f.Payload))
		}
	})
}

func TestWebSocketProtocolErrors(t *testing.T) {
	bothPaths(t, func(t *testing.T, start starter) {
		s := start(t, Options{MaxMessageBytes: 1000}, &testHandler{})
		cases := []struct {
			name  string
			write func(c net.Conn)
			code  ws.StatusCode
		}{
			{"unmasked", func(c net.Conn) {
				_ = ws.WriteFrame(c, ws.NewTextFrame([]byte("x")))
			}, ws.StatusProtocolError},
			{"reserved opcode", func(c net.Conn) { writeClientFrame(t, c, true, ws.OpCode(3), false, nil) }, ws.StatusProtocolError},
			{"long control", func(c net.Conn) {
				writeClientFrame(t, c, true, ws.OpPing, false, bytes.Repeat([]byte("a"), 126))
			}, ws.StatusProtocolError},
			{"bad utf-8", func(c net.Conn) { writeClientFrame(t, c, true, ws.OpText, false, []byte{0xff, 0xfe}) }, ws.StatusInvalidFramePayloadData},
			{"too big", func(c net.Conn) { writeClientFrame(t, c, true, ws.OpBinary, false, make([]byte, 1001)) }, ws.StatusMessageTooBig},
			{"rsv1 without deflate", func(c net.Conn) { writeClientFrame(t, c, true, ws.OpText, true, []byte("x")) }, ws.StatusProtocolError},
			{"continuation first", func(c net.Conn) { writeClientFrame(t, c, true, ws.OpContinuation, false, []byte("x")) }, ws.StatusProtocolError},
			// RFC 6455 section 8.1 and Autobahn 7.5.1: a close reason that is
			// not UTF-8 is invalid payload data.
			{"close reason not utf-8", func(c net.Conn) {
				writeClientFrame(t, c, true, ws.OpClose, false, []byte{0x03, 0xe8, 0xff, 0xfe})
			}, ws.StatusInvalidFramePayloadData},
			{"close code 1005", func(c net.Conn) { writeClientFrame(t, c, true, ws.OpClose, false, []byte{0x03, 0xed}) }, ws.StatusProtocolError},
			{"close payload of 1 byte", func(c net.Conn) { writeClientFrame(t, c, true, ws.OpClose, false, []byte{0x03}) }, ws.StatusProtocolError},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c := dial(t, s)
				br := upgrade(t, c, "")
				tc.write(c)
				f := readFrame(t, br)
				if f.Header.OpCode != ws.OpClose {
					t.Fatalf("want close frame, got %v", f.Header.OpCode)
				}
				code, _ := ws.ParseCloseFrameData(f.Payload)
				if code != tc.code {
					t.Fatalf("close code %d, want %d", code, tc.code)
				}
				if _, err := br.ReadByte(); err != io.EOF {
					t.Fatalf("connection not closed: %v", err)
				}
			})
		}
	})
}

func TestWebSocketDeflateInbound(t *testing.T) {
	bothPaths(t, func(t *testing.T, start starter) {
		s := start(t, Options{}, &testHandler{deflate: true})
		c := dial(t, s)
		br := upgrade(t, c, "permessage-deflate; client_max_window_bits")
		msg := bytes.Repeat([]byte("compress me "), 50)
		var z bytes.Buffer
		w, _ := flate.NewWriter(&z, flate.BestSpeed)
		_, _ = w.Write(msg)
		_ = w.Flush()
		comp := bytes.TrimSuffix(z.Bytes(), []byte{0, 0, 0xff, 0xff})
		writeClientFrame(t, c, true, ws.OpText, true, comp)
		if f := readFrame(t, br); string(f.Payload) != string(msg) {
			t.Fatalf("inflated echo mismatch: %q", f.Payload)
		}
	})
}

func TestSlowReaderIsClosed(t *testing.T) {
	bothPaths(t, func(t *testing.T, start starter) {
		s := start(t, Options{MaxOutboundBytes: 256 << 10}, &testHandler{})
		c := dial(t, s)
		br := upgrade(t, c, "")
		_ = br
		// Shrink our receive window and never read: the server must give up on
		// us instead of buffering without bound.
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(4096)
		}
		payload := bytes.Repeat([]byte("x"), 60_000)
		deadline := time.Now().Add(10 * time.Second)
		for i := 0; time.Now().Before(deadline); i++ {
			f := ws.MaskFrameInPlace(ws.NewBinaryFrame(append([]byte(nil), payload...)))
			_ = c.SetWriteDeadline(time.Now().Add(time.Second))
			if err := ws.WriteFrame(c, f); err != nil {
				return // the server closed us: what we want
			}
			if i > 2000 {
				break
			}
		}
		t.Fatal("server kept accepting from a client that never reads")
	})
}

func TestIdleHTTPConnectionIsClosed(t *testing.T) {
	bothPaths(t, func(t *testing.T, start starter) {
		s := start(t, Options{IdleTimeout: 100 * time.Millisecond}, &testHandler{})
		c := dial(t, s)
		_, _ = io.WriteString(c, "GET /echo HTTP/1.1\r\nHo") // never finished
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("want the server to close an idle, incomplete request: %v", err)
		}
	})
}

// echoOnce sends one /echo request on c, expects a 200 and closes c.
func echoOnce(t *testing.T, c net.Conn, i int) {
	t.Helper()
	if _, err := c.Write([]byte("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi")); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("connection %d: %v %v", i, resp, err)
	}
	c.Close()
}
