package eventloop

import (
	"bytes"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/pool"
)

// readPayloads reads n frames from the client side of a WebSocket.
func readPayloads(t *testing.T, c net.Conn, br interface {
	Read([]byte) (int, error)
}, n int) []string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var got []string
	for range n {
		f, err := ws.ReadFrame(br)
		if err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		got = append(got, string(f.Payload))
	}
	return got
}

func ownedFrame(payload string) *pool.Buffer {
	bb := pool.Get()
	bb.B = codec.AppendFrame(bb.B, ws.OpBinary, []byte(payload))
	return bb
}

// What is written to a connection after a write through a WakeBatch, at
// once or queued, owned or shared, reaches the client after it, and all
// of it does once the batch is flushed: the batched write is held as the
// connection's only pending write (Conn.one) until more comes behind it.
func TestWakeBatchKeepsOrder(t *testing.T) {
	_, c, br, sc := wsConn(t, startServer, Options{MaxOutboundBytes: 1 << 20}, nil)
	var wb WakeBatch
	if err := wb.WriteShared(sc, codec.AppendFrame(nil, ws.OpBinary, []byte("first"))); err != nil {
		t.Fatal(err)
	}
	sc.SetMark()
	if err := sc.WriteShared(codec.AppendFrame(nil, ws.OpBinary, []byte("second"))); err != nil {
		t.Fatal(err)
	}
	// An answer on a connection with nothing pending is written at once;
	// here it must wait behind the two.
	if err := sc.WriteOwned(ownedFrame("third")); err != nil {
		t.Fatal(err)
	}
	if sc.MarkSent() {
		t.Fatal("MarkSent before the marked write left")
	}
	wb.Flush()
	got := readPayloads(t, c, br, 3)
	if want := []string{"first", "second", "third"}; !slicesEqual(got, want) {
		t.Fatalf("client read %q, want %q", got, want)
	}
	if !sc.MarkSent() {
		t.Fatal("MarkSent false once everything was read")
	}
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A volatile write held as a connection's only pending write is dropped
// like a queued one when a write that is not volatile needs the room
// (SetDropVolatile), and the budget counts what is left exactly.
func TestWakeBatchVolatileEvicted(t *testing.T) {
	const budget = 8 << 10
	_, c, br, sc := wsConn(t, startServer, Options{MaxOutboundBytes: budget}, nil)
	sc.SetDropVolatile(true)
	var wb WakeBatch
	vol := codec.AppendFrame(nil, ws.OpBinary, bytes.Repeat([]byte("v"), 5000))
	if ok, err := wb.WriteSharedVolatile(sc, vol); !ok || err != nil {
		t.Fatalf("volatile write: %v %v", ok, err)
	}
	keep := codec.AppendFrame(nil, ws.OpBinary, bytes.Repeat([]byte("k"), 5000))
	if err := sc.WriteShared(keep); err != nil {
		t.Fatalf("write needing the volatile one's room: %v", err)
	}
	if n, want := sc.Queued(), len(keep)+itemOverhead; n != want {
		t.Fatalf("Queued() = %d after the eviction, want %d", n, want)
	}
	wb.Flush()
	got := readPayloads(t, c, br, 1)
	if got[0] != string(bytes.Repeat([]byte("k"), 5000)) {
		t.Fatalf("client read %d bytes of %q..., want the kept frame", len(got[0]), got[0][:1])
	}
}

// A batch spanning several loops, past wakeBatchMax connections of one,
// reaches every connection once flushed; connections written to by other
// goroutines meanwhile get both writes, in each writer's order.
func TestWakeBatchManyConnections(t *testing.T) {
	const conns = 2*wakeBatchMax + 10
	h := &wsHandler{conns: make(chan *Conn, conns)}
	s := startServer(t, Options{EventLoops: 2, MaxOutboundBytes: 1 << 20}, h)
	clients := make([]net.Conn, conns)
	readers := make([]interface{ Read([]byte) (int, error) }, conns)
	servers := make([]*Conn, conns)
	for i := range conns {
		clients[i] = dial(t, s)
		readers[i] = upgrade(t, clients[i], "")
		servers[i] = <-h.conns
	}
	loops := map[*loop]bool{}
	for _, sc := range servers {
		loops[sc.loop] = true
	}
	if len(loops) != 2 {
		t.Fatalf("connections on %d loops, want 2", len(loops))
	}
	frame := codec.AppendFrame(nil, ws.OpBinary, []byte("batched"))
	var wb WakeBatch
	var wg sync.WaitGroup
	for i, sc := range servers {
		if err := wb.WriteShared(sc, frame); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = sc.WriteOwned(ownedFrame("after"))
			}()
		}
	}
	wg.Wait()
	wb.Flush()
	for i := range conns {
		want := []string{"batched"}
		if i%3 == 0 {
			want = append(want, "after")
		}
		if got := readPayloads(t, clients[i], readers[i], len(want)); !slicesEqual(got, want) {
			t.Fatalf("connection %d read %q, want %q", i, got, want)
		}
	}
}
