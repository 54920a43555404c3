package sio

import (
	"testing"
	"time"
)

func TestDisconnectReasons(t *testing.T) {
	srv := newTestServer(t, Options{})
	reasons := make(chan DisconnectReason, 4)
	disconnecting := make(chan []Room, 4)
	srv.OnConnection(func(s *Socket) {
		s.Join("r1")
		s.OnDisconnecting(func(s *Socket, r DisconnectReason) { disconnecting <- s.Rooms() })
		s.OnDisconnect(func(s *Socket, r DisconnectReason) { reasons <- r })
		s.On("kick", func(s *Socket, _ Args, _ Ack) { s.Disconnect(false) })
		s.On("close", func(s *Socket, _ Args, _ Ack) { s.Disconnect(true) })
	})
	expectReason := func(want DisconnectReason) {
		t.Helper()
		select {
		case r := <-reasons:
			if r != want {
				t.Fatalf("reason %q, want %q", r, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no disconnect (want %q)", want)
		}
		if rooms := <-disconnecting; len(rooms) != 2 {
			t.Fatalf("rooms while disconnecting = %v, want the socket's id and r1", rooms)
		}
	}
	c := fakeDial(t, srv)
	c.Connect("/", "")
	c.Send("1")
	expectReason(ReasonClientNamespaceDisconnect)
	c.Connect("/", "")
	c.Send(`2["kick"]`)
	c.Expect("1")
	expectReason(ReasonServerNamespaceDisconnect)
	c.Connect("/", "")
	c.Send(`2["close"]`)
	c.Expect("1")
	expectReason(ReasonServerNamespaceDisconnect)
	c.WaitClosed()

	c2 := fakeDial(t, srv)
	c2.Connect("/", "")
	c2.Close()
	expectReason(ReasonTransportClose)
}
