package siotest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// Dial connects a client to the Socket.IO server at addr ("host:port",
// path /socket.io/) over a WebSocket, answering the server's pings. The
// connection is closed at the end of the test (tb may be nil, as in an
// Example: close it with Close).
func Dial(tb testing.TB, addr string) *Client {
	if tb != nil {
		tb.Helper()
	}
	return DialWith(tb, addr, DialOptions{})
}

// DialOptions shape the handshake request of DialWith.
type DialOptions struct {
	// Query is appended to the handshake URL's query ("a=1&b=2"), after
	// EIO and transport.
	Query string
	// Header holds extra header fields (each value its own field line).
	Header http.Header
}

// DialWith is Dial with a handshake request shaped by o.
func DialWith(tb testing.TB, addr string, o DialOptions) *Client {
	if tb != nil {
		tb.Helper()
	}
	conn, err := dialEngineIO(addr, o)
	if err != nil {
		if tb == nil {
			panic(err)
		}
		tb.Fatalf("siotest: dial %s: %v", addr, err)
	}
	var wmu sync.Mutex
	write := func(op ws.OpCode, b []byte) error {
		wmu.Lock()
		defer wmu.Unlock()
		return wsutil.WriteClientMessage(conn, op, b)
	}
	c := NewClient(tb,
		func(data []byte, binary bool) error {
			if binary {
				return write(ws.OpBinary, data)
			}
			return write(ws.OpText, append([]byte{'4'}, data...))
		},
		conn.Close)
	go func() {
		// When the server ends the session, close our end too, as a real
		// client does.
		defer conn.Close()
		defer c.Hangup()
		for {
			data, op, err := wsutil.ReadServerData(conn)
			if err != nil {
				return
			}
			if op == ws.OpBinary {
				c.Deliver(data, true)
				continue
			}
			if len(data) == 0 {
				continue
			}
			switch data[0] {
			case '2': // ping
				_ = write(ws.OpText, []byte("3"))
			case '4': // a Socket.IO packet
				c.Deliver(data[1:], false)
			case '1': // close
				return
			}
		}
	}()
	if tb != nil {
		tb.Cleanup(func() { conn.Close() })
	}
	return c
}

// dialEngineIO opens an Engine.IO v4 WebSocket session and reads its open
// packet.
func dialEngineIO(addr string, o DialOptions) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u := "ws://" + addr + "/socket.io/?EIO=4&transport=websocket"
	if o.Query != "" {
		u += "&" + o.Query
	}
	d := ws.Dialer{}
	if o.Header != nil {
		d.Header = ws.HandshakeHeaderHTTP(o.Header)
	}
	raw, br, _, err := d.Dial(ctx, u)
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
	return conn, nil
}

type bufferedConn struct {
	net.Conn
	r io.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// Counter is a WebSocket client for benchmarks: it counts the data frames
// the server sends without decoding them or allocating (so that a
// benchmark measures the server's allocations only), and never answers
// pings.
type Counter struct {
	conn  net.Conn
	count atomic.Int64
	done  chan struct{}
}

// DialCounter connects a Counter to the server at addr (path /socket.io/).
func DialCounter(addr string) (*Counter, error) {
	conn, err := dialEngineIO(addr, DialOptions{})
	if err != nil {
		return nil, err
	}
	c := &Counter{conn: conn, done: make(chan struct{})}
	go c.read()
	return c, nil
}

// Send sends a Socket.IO packet, as text.
func (c *Counter) Send(packet string) error {
	return wsutil.WriteClientMessage(c.conn, ws.OpText, append([]byte{'4'}, packet...))
}

// Count is the number of data frames received so far.
func (c *Counter) Count() int64 { return c.count.Load() }

// Close closes the connection.
func (c *Counter) Close() error { return c.conn.Close() }

func (c *Counter) read() {
	defer close(c.done)
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
