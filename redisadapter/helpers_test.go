package redisadapter

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/fanio/fanio/internal/redistest"
	"github.com/fanio/fanio/sio"
)

// node is a sio server on the Redis adapter, for tests.
type node struct {
	srv *sio.Server
	rc  *Client
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(logWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// startNode starts a server on 127.0.0.1:0 joined to the Redis at url.
func startNode(t testing.TB, url string, opts Options) *node {
	t.Helper()
	opts.URL = url
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	if opts.RequestsTimeout == 0 {
		opts.RequestsTimeout = 3 * time.Second
	}
	rc, err := NewClient(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := sio.NewServer(sio.Options{
		Adapter:      rc.Adapter,
		Logger:       opts.Logger,
		PingInterval: 2 * time.Second,
		PingTimeout:  2 * time.Second,
	})
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	n := &node{srv: srv, rc: rc}
	t.Cleanup(n.stop)
	return n
}

func (n *node) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = n.srv.Shutdown(ctx)
	_ = n.rc.Close()
}

// cluster starts a redis-server and k nodes on it.
func cluster(t testing.TB, k int, opts Options) (*redistest.Server, []*node) {
	t.Helper()
	rs := redistest.Start(t)
	nodes := make([]*node, k)
	for i := range nodes {
		nodes[i] = startNode(t, rs.URL(), opts)
	}
	waitFor(t, "every node to count the others", func() bool {
		for _, n := range nodes {
			if c, err := n.srv.Sockets().Adapter().ServerCount(); err != nil || c != k {
				return false
			}
		}
		return true
	})
	return rs, nodes
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// client is a minimal Socket.IO client over WebSocket: it answers pings,
// answers acknowledgement requests with ackReply, and queues the rest.
type client struct {
	t        testing.TB
	conn     net.Conn
	msgs     chan string // Socket.IO packets; binary frames as "bin:<bytes>"
	closed   chan struct{}
	wmu      sync.Mutex
	sid      string
	ackReply string // JSON array of the arguments an ack request gets
	ackBin   []byte // or, when set, this one binary argument
}

func dial(t testing.TB, n *node) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	raw, br, _, err := ws.Dial(ctx, "ws://"+n.srv.Addr().String()+"/socket.io/?EIO=4&transport=websocket")
	if err != nil {
		t.Fatal(err)
	}
	var conn net.Conn = raw
	if br != nil {
		conn = &bufferedConn{Conn: raw, r: br}
	}
	if data, _, err := wsutil.ReadServerData(conn); err != nil || len(data) == 0 || data[0] != '0' {
		t.Fatalf("open: %q %v", data, err)
	}
	c := &client{t: t, conn: conn, msgs: make(chan string, 1024), closed: make(chan struct{}), ackReply: `["ok"]`}
	go c.read()
	t.Cleanup(func() { c.conn.Close() })
	c.send("0")
	m := c.expectPrefix(`0{"sid":"`)
	c.sid = m[len(`0{"sid":"`) : len(`0{"sid":"`)+20]
	return c
}

type bufferedConn struct {
	net.Conn
	r io.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (c *client) read() {
	defer close(c.closed)
	for {
		data, op, err := wsutil.ReadServerData(c.conn)
		if err != nil {
			return
		}
		if op == ws.OpBinary {
			c.msgs <- "bin:" + string(data)
			continue
		}
		if len(data) == 0 {
			continue
		}
		switch data[0] {
		case '2':
			c.write("3")
		case '4':
			p := string(data[1:])
			if id, ok := ackID(p); ok {
				if c.ackBin != nil {
					c.wmu.Lock()
					_ = wsutil.WriteClientMessage(c.conn, ws.OpText, []byte("461-"+id+`[{"_placeholder":true,"num":0}]`))
					_ = wsutil.WriteClientMessage(c.conn, ws.OpBinary, c.ackBin)
					c.wmu.Unlock()
				} else if c.ackReply != "" {
					c.send("3" + id + c.ackReply)
				}
			}
			c.msgs <- p
		}
	}
}

// ackID returns the ack id of an EVENT packet that asks for one.
func ackID(p string) (string, bool) {
	if len(p) < 2 || p[0] != '2' {
		return "", false
	}
	i := 1
	for i < len(p) && p[i] >= '0' && p[i] <= '9' {
		i++
	}
	return p[1:i], i > 1 && i < len(p) && p[i] == '['
}

func (c *client) write(s string) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = wsutil.WriteClientMessage(c.conn, ws.OpText, []byte(s))
}

func (c *client) send(p string) { c.write("4" + p) }

func (c *client) next() string {
	c.t.Helper()
	select {
	case m := <-c.msgs:
		return m
	case <-time.After(5 * time.Second):
		c.t.Fatal("no message within 5 s")
	}
	return ""
}

func (c *client) expect(want string) {
	c.t.Helper()
	if got := c.next(); got != want {
		c.t.Fatalf("got %q, want %q", got, want)
	}
}

func (c *client) expectPrefix(prefix string) string {
	c.t.Helper()
	got := c.next()
	if !strings.HasPrefix(got, prefix) {
		c.t.Fatalf("got %q, want a packet starting with %q", got, prefix)
	}
	return got
}

func (c *client) expectNothing(d time.Duration) {
	c.t.Helper()
	select {
	case m := <-c.msgs:
		c.t.Fatalf("unexpected %q", m)
	case <-time.After(d):
	}
}

func (c *client) waitClosed() {
	c.t.Helper()
	select {
	case <-c.closed:
	case <-time.After(5 * time.Second):
		c.t.Fatal("not closed")
	}
}

// socket returns the server-side socket of c on n.
func (n *node) socket(t testing.TB, c *client) *sio.Socket {
	t.Helper()
	var s *sio.Socket
	waitFor(t, "socket "+c.sid, func() bool { s = n.srv.Sockets().Socket(c.sid); return s != nil })
	return s
}

func itoa(i int) string { return strconv.Itoa(i) }

var _ = fmt.Sprint

func slogTo(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
