package sio

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Socket.Context is cancelled as soon as the connection is gone, while a
// handler of the socket is still blocked on it.
func TestSocketContext(t *testing.T) {
	srv := newTestServer(t, Options{})
	stopped := make(chan error, 1)
	disconnected := make(chan DisconnectReason, 1)
	var late context.Context
	srv.OnConnection(func(s *Socket) {
		s.OnDisconnect(func(s *Socket, r DisconnectReason) {
			late = s.Context()
			disconnected <- r
		})
		s.On("block", func(s *Socket, _ Args, _ Ack) {
			<-s.Context().Done()
			stopped <- context.Cause(s.Context())
		})
	})
	c := fakeDial(t, srv)
	c.Connect("/", "")
	c.Send(`2["block"]`)
	time.Sleep(50 * time.Millisecond)
	c.Close()
	select {
	case err := <-stopped:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cause %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the blocked handler was not released")
	}
	if r := <-disconnected; r != ReasonTransportClose {
		t.Fatalf("reason %q", r)
	}
	if late.Err() == nil {
		t.Fatal("a context asked for after the disconnection is not done")
	}
}
