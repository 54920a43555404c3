package eventloop

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/pool"
)

// wsHandler upgrades every request to a WebSocket owned by the owner it
// makes, and hands the connection to conns.
type wsHandler struct {
	owner func(c *Conn) Owner
	conns chan *Conn
}

func (h *wsHandler) ServeRequest(c *Conn, req *codec.Request, body []byte) {
	bb := pool.Get()
	bb.B = codec.AppendStatusLine(bb.B, 101)
	bb.B = append(bb.B, "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	bb.B = codec.AppendAcceptKey(bb.B, req.Header("Sec-WebSocket-Key"))
	bb.B = append(bb.B, "\r\n\r\n"...)
	var o Owner = recordOwner{}
	if h.owner != nil {
		o = h.owner(c)
	}
	c.AcceptWebSocket(bb, o, false)
	if h.conns != nil {
		h.conns <- c
	}
}

// recordOwner records messages and the close.
type recordOwner struct {
	msgs   chan []byte
	closed chan error
}

func (o recordOwner) OnMessage(c *Conn, data []byte, _ bool) {
	if o.msgs != nil {
		o.msgs <- append([]byte(nil), data...)
	}
}

func (o recordOwner) OnClose(c *Conn, err error) {
	if o.closed != nil {
		o.closed <- err
	}
}

func wsConn(t *testing.T, start starter, cfg Options, owner func(*Conn) Owner) (*testServer, net.Conn, *bufio.Reader, *Conn) {
	t.Helper()
	h := &wsHandler{owner: owner, conns: make(chan *Conn, 1)}
	s := start(t, cfg, h)
	c := dial(t, s)
	br := upgrade(t, c, "")
	select {
	case sc := <-h.conns:
		return s, c, br, sc
	case <-time.After(5 * time.Second):
		t.Fatal("no server connection")
	}
	return nil, nil, nil, nil
}

func (c *Conn) heldBytes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.held
}

// A client that does not read: what the server holds for it stays within
// the budget at every moment, what the link (gnet's buffer) copied stays
// within one write chunk, and the write past the budget closes it as a
// slow reader. Before, the cap was checked after a batch had been copied
// into gnet's buffer: a slow reader held twice the cap and more.
func TestOutboundBudgetHoldsAtPeak(t *testing.T) {
	bothPaths(t, func(t *testing.T, start starter) {
		const budget = 512 << 10
		closed := make(chan error, 1)
		s, c, _, sc := wsConn(t, start, Options{MaxOutboundBytes: budget}, func(*Conn) Owner {
			return recordOwner{closed: closed}
		})
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(4096)
		}
		frame := codec.AppendFrame(nil, ws.OpBinary, bytes.Repeat([]byte("x"), 1000))
		var err error
		maxHeld, maxQueued := 0, 0
		deadline := time.Now().Add(20 * time.Second)
		for err == nil && time.Now().Before(deadline) {
			err = sc.WriteShared(frame) // one frame shared by every write, as a broadcast's
			maxQueued = max(maxQueued, sc.Queued())
			maxHeld = max(maxHeld, sc.heldBytes())
			time.Sleep(50 * time.Microsecond)
		}
		if !errors.Is(err, ErrSlowReader) {
			t.Fatalf("writes to a client that never reads ended with %v, want ErrSlowReader", err)
		}
		if maxQueued > budget {
			t.Errorf("held %d bytes unwritten at peak, budget %d", maxQueued, budget)
		}
		if maxHeld > writeChunk {
			t.Errorf("the link copied %d bytes at peak, want at most one chunk (%d)", maxHeld, writeChunk)
		}
		select {
		case err := <-closed:
			if !errors.Is(err, ErrSlowReader) {
				t.Errorf("owner told %v, want ErrSlowReader", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the slow reader was not closed")
		}
		if n := s.Counters().SlowReaders; n != 1 {
			t.Errorf("Counters().SlowReaders = %d, want 1", n)
		}
	})
}

// A backlog far larger than what the link may copy reaches a client that
// reads slowly, whole and in order: shared bytes and owned buffers split
// across writes, items bigger than a chunk included.
func TestBacklogDrainsInOrder(t *testing.T) {
	bothPaths(t, func(t *testing.T, start starter) {
		_, c, br, sc := wsConn(t, start, Options{MaxOutboundBytes: 32 << 20}, nil)
		var want bytes.Buffer
		shared := codec.AppendFrame(nil, ws.OpBinary, bytes.Repeat([]byte("s"), 300_000))
		for i := 0; i < 40; i++ {
			payload := bytes.Repeat([]byte{byte('a' + i%26)}, 1+i*997)
			bb := pool.Get()
			bb.B = codec.AppendFrame(bb.B, ws.OpBinary, payload)
			if err := sc.WriteOwned(bb); err != nil {
				t.Fatal(err)
			}
			want.Write(payload)
			if i%8 == 0 {
				if err := sc.WriteShared(shared); err != nil {
					t.Fatal(err)
				}
				want.Write(shared[len(shared)-300_000:])
			}
		}
		var got bytes.Buffer
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		for got.Len() < want.Len() {
			f, err := ws.ReadFrame(br)
			if err != nil {
				t.Fatalf("after %d of %d bytes: %v", got.Len(), want.Len(), err)
			}
			got.Write(f.Payload)
			if got.Len()%7 == 0 {
				time.Sleep(time.Millisecond) // a slow reader
			}
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Fatal("the backlog arrived altered")
		}
		deadline := time.Now().Add(5 * time.Second)
		for sc.Queued() != 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if n := sc.Queued(); n != 0 {
			t.Errorf("Queued() = %d once the client read everything", n)
		}
	})
}

// With SetDropVolatile, queued volatile messages make room for one that is
// not volatile; without it, the same write closes the connection. A
// volatile message that does not fit is dropped either way.
func TestDropVolatilePolicy(t *testing.T) {
	for _, drop := range []bool{false, true} {
		name := map[bool]string{false: "close", true: "dropvolatile"}[drop]
		t.Run(name, func(t *testing.T) {
			const budget = 256 << 10
			s, c, _, sc := wsConn(t, startServer, Options{MaxOutboundBytes: budget}, nil)
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetReadBuffer(4096)
			}
			sc.SetDropVolatile(drop)
			small := codec.AppendFrame(nil, ws.OpBinary, bytes.Repeat([]byte("v"), 2000))
			// Fill the budget with volatile messages until one is refused.
			deadline := time.Now().Add(10 * time.Second)
			for time.Now().Before(deadline) {
				ok, err := sc.WriteSharedVolatile(small)
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					break
				}
			}
			if s.Counters().VolatileDropped == 0 {
				t.Fatal("a volatile message past the budget was not dropped")
			}
			// Without DropVolatile the write is as big as the budget: the
			// loop may meanwhile have handed the kernel a few more bytes
			// (room for a small one), never all it holds for a client
			// that does not read.
			next := small
			if !drop {
				next = codec.AppendFrame(nil, ws.OpBinary, make([]byte, budget))
			}
			err := sc.WriteShared(next)
			if drop {
				if err != nil {
					t.Fatalf("non-volatile write with DropVolatile: %v, want room made", err)
				}
				if n := s.Counters().SlowReaders; n != 0 {
					t.Errorf("SlowReaders = %d, want 0", n)
				}
			} else if !errors.Is(err, ErrSlowReader) {
				t.Fatalf("non-volatile write without DropVolatile: %v, want ErrSlowReader", err)
			}
		})
	}
}

// MarkSent reports when what was queued before the mark has left the
// queue.
func TestMarkSent(t *testing.T) {
	bothPaths(t, func(t *testing.T, start starter) {
		_, _, br, sc := wsConn(t, start, Options{MaxOutboundBytes: 64 << 20}, nil)
		// More than the kernel buffers of both ends hold on loopback
		// (tcp_wmem tops out at 4 MiB; the receive window of a reader that
		// never reads stays small).
		big := codec.AppendFrame(nil, ws.OpBinary, make([]byte, 24<<20))
		if err := sc.WriteShared(big); err != nil {
			t.Fatal(err)
		}
		sc.SetMark()
		time.Sleep(100 * time.Millisecond)
		if sc.MarkSent() {
			t.Fatal("24 MiB sent to a client that has not read")
		}
		go func() { _, _ = io.Copy(io.Discard, br) }()
		deadline := time.Now().Add(10 * time.Second)
		for !sc.MarkSent() && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if !sc.MarkSent() {
			t.Fatal("not sent once the client read everything")
		}
	})
}

// Many connections writing and closing at once: every byte is accounted
// for in a shared Account, which returns to zero.
func TestAccountReturnsToZero(t *testing.T) {
	var acct Account
	h := &wsHandler{conns: make(chan *Conn, 64)}
	s := startServer(t, Options{MaxOutboundBytes: 1 << 20}, h)
	var wg sync.WaitGroup
	frame := codec.AppendFrame(nil, ws.OpText, bytes.Repeat([]byte("y"), 5000))
	for i := 0; i < 16; i++ {
		c := dial(t, s)
		br := upgrade(t, c, "")
		sc := <-h.conns
		sc.SetAccount(&acct)
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 300; j++ {
				if sc.WriteShared(frame) != nil {
					break
				}
			}
			if i%2 == 0 {
				_, _ = io.CopyN(io.Discard, br, 100_000)
			}
			c.Close()
		}(i)
	}
	wg.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for acct.Load() != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := acct.Load(); n != 0 {
		t.Fatalf("Account = %d once every connection closed, want 0", n)
	}
}

// A close frame the server sends for a protocol error is queued past the
// budget, and the owner is told the error (not a clean close).
func TestCloseWebSocketTellsOwnerTheError(t *testing.T) {
	bothPaths(t, func(t *testing.T, start starter) {
		closed := make(chan error, 1)
		_, c, br, _ := wsConn(t, start, Options{}, func(*Conn) Owner { return recordOwner{closed: closed} })
		f := ws.NewTextFrame([]byte("unmasked")) // clients must mask
		if err := ws.WriteFrame(c, f); err != nil {
			t.Fatal(err)
		}
		got, err := ws.ReadFrame(br)
		if err != nil || got.Header.OpCode != ws.OpClose {
			t.Fatalf("want a close frame, got %v %v", got.Header, err)
		}
		select {
		case err := <-closed:
			if !errors.Is(err, ErrProtocol) {
				t.Fatalf("owner told %v, want ErrProtocol", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("owner not told")
		}
	})
}

// Writers on several goroutines at once, some writing their own frames
// (written at once when nothing is ahead of them: canWriteNowLocked), one
// writing shared frames (always queued), to a client that reads slowly:
// each writer's frames arrive complete and in its order.
func TestConcurrentWritersKeepTheirOrder(t *testing.T) {
	bothPaths(t, func(t *testing.T, start starter) {
		_, c, br, sc := wsConn(t, start, Options{MaxOutboundBytes: 64 << 20}, nil)
		const writers, each = 4, 300
		var wg sync.WaitGroup
		for w := range writers + 1 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					payload := fmt.Appendf(nil, "%d %d %s", w, i, bytes.Repeat([]byte("x"), i%7*1000))
					var err error
					if w == writers {
						err = sc.WriteShared(codec.AppendFrame(nil, ws.OpBinary, payload))
					} else {
						bb := pool.Get()
						bb.B = codec.AppendFrame(bb.B, ws.OpBinary, payload)
						err = sc.WriteOwned(bb)
					}
					if err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		next := make([]int, writers+1)
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		for n := 0; n < (writers+1)*each; n++ {
			f, err := ws.ReadFrame(br)
			if err != nil {
				t.Fatalf("after %d frames: %v", n, err)
			}
			var w, i int
			if _, err := fmt.Sscanf(string(f.Payload), "%d %d", &w, &i); err != nil || w < 0 || w > writers {
				t.Fatalf("frame %d: %q", n, f.Payload[:min(len(f.Payload), 20)])
			}
			if i != next[w] {
				t.Fatalf("writer %d: frame %d arrived when %d was due", w, i, next[w])
			}
			next[w]++
			if n%50 == 0 {
				time.Sleep(time.Millisecond) // a slow reader: backlogs form and drain
			}
		}
		wg.Wait()
	})
}
