package engine

import (
	"testing"
	"time"
)

// A Fanout delivers to WebSocket and polling sessions alike, counts what
// it sent once flushed, and refuses a closed session.
func TestFanout(t *testing.T) {
	srv, base, _ := start(t, Options{})
	wsURLOf := "ws://" + srv.Addr().String() + "/engine.io/?EIO=4&transport=websocket"
	var clients []*wsc
	for range 3 {
		c := wsDial(t, wsURLOf, nil)
		c.open(t)
		clients = append(clients, c)
	}
	op, _ := handshake(t, base, nil)
	gone := wsDial(t, wsURLOf, nil)
	goneSID := gone.open(t)
	deadline := time.Now().Add(5 * time.Second)
	for len(srv.Sessions()) != 5 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	var closed *Session
	for _, s := range srv.Sessions() {
		if s.ID() == goneSID {
			closed = s
		}
	}
	if closed == nil {
		t.Fatalf("%d sessions, want 5 with %s", len(srv.Sessions()), goneSID)
	}
	_ = closed.Close()
	before := srv.Stats()

	p := NewPrepared([]Message{{Data: []byte("hello")}, {Data: []byte{1, 2}, Binary: true}}, false)
	var f Fanout
	sent := 0
	for _, s := range srv.Sessions() {
		err := f.Send(s, p)
		switch {
		case s == closed && err != ErrClosed:
			t.Errorf("Send to a closed session: %v, want ErrClosed", err)
		case s != closed && err != nil:
			t.Errorf("Send to %s: %v", s.ID(), err)
		case err == nil:
			sent++
		}
	}
	f.Flush()
	if sent != 4 {
		t.Fatalf("sent to %d sessions, want 4", sent)
	}
	for i, c := range clients {
		_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if got := c.recv(t); string(got.Payload) != "4hello" {
			t.Fatalf("client %d read %q first, want 4hello", i, got.Payload)
		}
		if got := c.recv(t); string(got.Payload) != "\x01\x02" {
			t.Fatalf("client %d read %q second, want the binary message", i, got.Payload)
		}
	}
	_, body := do(t, "GET", base+"/engine.io/?EIO=4&transport=polling&sid="+op.SID, "", nil)
	if body != "4hello\x1ebAQI=" {
		t.Fatalf("poll read %q", body)
	}
	after := srv.Stats()
	if n := after.PacketsSent - before.PacketsSent; n != 8 {
		t.Errorf("PacketsSent grew by %d, want 8 (2 messages to 4 sessions)", n)
	}
	if n := after.BytesSent - before.BytesSent; n != 4*7 {
		t.Errorf("BytesSent grew by %d, want %d", n, 4*7)
	}
}
