package sio

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/fanio/fanio/engine"
)

// startServer starts a server on 127.0.0.1:0 with short timeouts; it is
// shut down at cleanup.
func startServer(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.PingInterval == 0 {
		opts.PingInterval = 300 * time.Millisecond
		opts.PingTimeout = 200 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	srv := NewServer(opts)
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return srv
}

type bufferedConn struct {
	net.Conn
	r io.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// msg is one Engine.IO MESSAGE received by the test client.
type msg struct {
	text string
	bin  []byte
}

func (m msg) isBin() bool { return m.bin != nil }

// wsClient is a minimal Engine.IO v4 WebSocket client: it answers pings and
// queues every MESSAGE.
type wsClient struct {
	t      testing.TB
	conn   net.Conn
	msgs   chan msg
	closed chan struct{}
	wmu    sync.Mutex
	count  atomic.Int64 // messages received (for benchmarks)
	keep   bool         // queue messages (false: only count)
}

func dialWS(t testing.TB, srv *Server) *wsClient {
	t.Helper()
	c, err := tryDialWS(srv, true)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.t = t
	t.Cleanup(func() { c.conn.Close() })
	return c
}

func tryDialWS(srv *Server, keep bool) (*wsClient, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	raw, br, _, err := ws.Dial(ctx, "ws://"+srv.Addr().String()+"/socket.io/?EIO=4&transport=websocket")
	if err != nil {
		return nil, err
	}
	var conn net.Conn = raw
	if br != nil {
		// the server's first frames came with the handshake response
		conn = &bufferedConn{Conn: raw, r: br}
	}
	data, _, err := wsutil.ReadServerData(conn)
	if err == nil && (len(data) == 0 || data[0] != '0') {
		err = fmt.Errorf("first message %q is not an open packet", data)
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	c := &wsClient{conn: conn, msgs: make(chan msg, 4096), closed: make(chan struct{}), keep: keep}
	go c.read()
	return c, nil
}

func (c *wsClient) read() {
	defer close(c.closed)
	if !c.keep {
		c.countFrames()
		return
	}
	for {
		data, op, err := wsutil.ReadServerData(c.conn)
		if err != nil {
			return
		}
		if op == ws.OpBinary {
			c.count.Add(1)
			if c.keep {
				c.msgs <- msg{bin: append([]byte{}, data...)}
			}
			continue
		}
		if len(data) == 0 {
			continue
		}
		switch data[0] {
		case '2':
			c.write(ws.OpText, []byte("3"))
		case '4':
			c.count.Add(1)
			if c.keep {
				c.msgs <- msg{text: string(data[1:])}
			}
		case '1':
			return
		}
	}
}

func (c *wsClient) write(op ws.OpCode, b []byte) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = wsutil.WriteClientMessage(c.conn, op, b)
}

// send sends a Socket.IO packet (text).
func (c *wsClient) send(s string) { c.write(ws.OpText, []byte("4"+s)) }

// sendBin sends a binary attachment.
func (c *wsClient) sendBin(b []byte) { c.write(ws.OpBinary, b) }

// next returns the next message.
func (c *wsClient) next() msg {
	c.t.Helper()
	select {
	case m := <-c.msgs:
		return m
	case <-c.closed:
		select {
		case m := <-c.msgs:
			return m
		default:
		}
		c.t.Fatalf("connection closed while waiting for a message")
	case <-time.After(5 * time.Second):
		c.t.Fatalf("no message within 5s")
	}
	return msg{}
}

// expect asserts the next message is the text want.
func (c *wsClient) expect(want string) {
	c.t.Helper()
	if m := c.next(); m.text != want || m.isBin() {
		c.t.Fatalf("got %q (binary %v), want %q", m.text, m.bin, want)
	}
}

// expectPrefix asserts the next message starts with prefix and returns it.
func (c *wsClient) expectPrefix(prefix string) string {
	c.t.Helper()
	m := c.next()
	if !strings.HasPrefix(m.text, prefix) {
		c.t.Fatalf("got %q, want a message starting with %q", m.text, prefix)
	}
	return m.text
}

// expectNothing asserts nothing arrives within d.
func (c *wsClient) expectNothing(d time.Duration) {
	c.t.Helper()
	select {
	case m := <-c.msgs:
		c.t.Fatalf("unexpected message %q %v", m.text, m.bin)
	case <-time.After(d):
	}
}

// waitClosed waits for the server to close the connection.
func (c *wsClient) waitClosed() {
	c.t.Helper()
	select {
	case <-c.closed:
	case <-time.After(5 * time.Second):
		c.t.Fatal("the server did not close the connection")
	}
}

// connect joins nsp ("/" or "/x") with auth (may be "") and returns the sid.
func (c *wsClient) connect(nsp, auth string) string {
	c.t.Helper()
	prefix := ""
	if nsp != "/" {
		prefix = nsp + ","
	}
	c.send("0" + prefix + auth)
	m := c.expectPrefix("0" + prefix + `{"sid":"`)
	return strings.TrimSuffix(strings.SplitN(m, `"sid":"`, 2)[1][:20], `"`)
}

// fakeSession stands in for an engine.Session: it counts what is sent.
type fakeSession struct {
	id       string
	mu       sync.Mutex
	texts    []string
	prepared atomic.Int64
	closed   atomic.Bool
	record   bool
}

func (f *fakeSession) ID() string           { return f.id }
func (f *fakeSession) Transport() string    { return engine.TransportWebSocket }
func (f *fakeSession) RemoteAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }
func (f *fakeSession) SendPrepared(*engine.Prepared) error {
	f.prepared.Add(1)
	return nil
}
func (f *fakeSession) Close() error { f.closed.Store(true); return nil }
func (f *fakeSession) Request() *engine.HandshakeRequest {
	return &engine.HandshakeRequest{Method: "GET", URL: &url.URL{Path: "/socket.io/"}, Header: http.Header{}}
}

func (f *fakeSession) Send(data []byte, binary bool) error {
	if f.record {
		f.mu.Lock()
		f.texts = append(f.texts, string(data))
		f.mu.Unlock()
	}
	return nil
}

func (f *fakeSession) SendBatch(msgs []engine.Message) error {
	for _, m := range msgs {
		_ = f.Send(m.Data, m.Binary)
	}
	return nil
}

// addFakeSockets connects n sockets with fake sessions to nsp, without a
// network, and returns them.
func addFakeSockets(srv *Server, nsp *Namespace, n int) []*Socket {
	out := make([]*Socket, n)
	for i := range out {
		c := srv.newClient(&fakeSession{id: newID()})
		s := newSocket(nsp, c, []byte("{}"), nil)
		nsp.addSocket(s)
		c.addSocket(s)
		c.stopConnectTimer()
		s.connected.Store(true)
		s.Join(s.id)
		out[i] = s
	}
	return out
}

// countFrames reads server frames without allocating (so that benchmarks
// measure the server's allocations only) and counts the data frames.
func (c *wsClient) countFrames() {
	buf := make([]byte, 64<<10)
	have, skip := 0, 0
	for {
		n, err := c.conn.Read(buf[have:])
		if err != nil {
			return
		}
		have += n
		i := 0
		for {
			if skip > 0 {
				d := min(skip, have-i)
				skip -= d
				i += d
				if skip > 0 {
					break
				}
			}
			if have-i < 2 {
				break
			}
			op := buf[i] & 0x0f
			l := int(buf[i+1] & 0x7f)
			hl := 2
			switch l {
			case 126:
				hl = 4
			case 127:
				hl = 10
			}
			if have-i < hl {
				break
			}
			switch l {
			case 126:
				l = int(buf[i+2])<<8 | int(buf[i+3])
			case 127:
				l = 0
				for k := 2; k < 10; k++ {
					l = l<<8 | int(buf[i+k])
				}
			}
			if op == 1 || op == 2 {
				c.count.Add(1)
			}
			i += hl
			skip = l
		}
		have = copy(buf, buf[i:have])
	}
}
