package eventloop

import (
	"bytes"
	"encoding/binary"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// pauseOwner pauses reads after the first message and records them all.
type pauseOwner struct {
	msgs chan []byte
	once atomic.Bool
}

func (o *pauseOwner) OnMessage(c *Conn, data []byte, _ bool) {
	if !o.once.Swap(true) {
		c.PauseReads()
	}
	o.msgs <- append([]byte(nil), data...)
}
func (o *pauseOwner) OnClose(*Conn, error) {}

// PauseReads stops delivery at once and stops reading the socket, so the
// client's writes block (TCP pushes back) instead of piling up in the
// server; ResumeReads delivers everything, in order.
func TestPauseReadsPushesBack(t *testing.T) {
	bothPaths(t, func(t *testing.T, start starter) {
		o := &pauseOwner{msgs: make(chan []byte, 1<<16)}
		s, c, _, sc := wsConn(t, start, Options{}, func(*Conn) Owner { return o })
		const n = 40_000 // 40 MB in all: far more than the kernel buffers of both ends
		var written atomic.Int64
		done := make(chan error, 1)
		go func() {
			payload := make([]byte, 1000)
			for i := 0; i < n; i++ {
				binary.BigEndian.PutUint32(payload, uint32(i))
				f := ws.MaskFrameInPlace(ws.NewBinaryFrame(append([]byte(nil), payload...)))
				_ = c.SetWriteDeadline(time.Now().Add(30 * time.Second))
				if err := ws.WriteFrame(c, f); err != nil {
					done <- err
					return
				}
				written.Add(1)
			}
			done <- nil
		}()
		select {
		case <-o.msgs:
		case <-time.After(10 * time.Second):
			t.Fatal("no first message")
		}
		// Wait for the client's writes to stall.
		last, still := written.Load(), 0
		for still < 10 {
			time.Sleep(50 * time.Millisecond)
			if w := written.Load(); w == last {
				still++
			} else {
				last, still = w, 0
			}
			if last == n {
				t.Fatalf("the client wrote all %d messages to a paused connection: no backpressure", n)
			}
		}
		if got := len(o.msgs); got > 0 {
			t.Fatalf("%d messages delivered while paused", got)
		}
		if !sc.ReadsPaused() {
			t.Fatal("ReadsPaused() = false")
		}
		t.Logf("client blocked after %d messages", last)
		sc.ResumeReads()
		for i := 1; i < n; i++ {
			select {
			case m := <-o.msgs:
				if got := binary.BigEndian.Uint32(m); got != uint32(i) || !bytes.Equal(m[4:], make([]byte, 996)) {
					t.Fatalf("message %d arrived as %d", i, got)
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("message %d not delivered after ResumeReads", i)
			}
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if s.Counters().ReadPauses != 1 {
			t.Errorf("ReadPauses = %d, want 1", s.Counters().ReadPauses)
		}
	})
}
