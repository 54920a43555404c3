package sio

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fanio/fanio/internal/siotest"
)

// A client that sends faster than its handler runs is disconnected.
func TestInboundOverflow(t *testing.T) {
	srv := newTestServer(t, Options{MaxQueuedPackets: 8})
	release := make(chan struct{})
	errs := make(chan error, 4)
	reasons := make(chan DisconnectReason, 1)
	srv.OnConnection(func(s *Socket) {
		s.OnError(func(s *Socket, err error) { errs <- err })
		s.OnDisconnect(func(s *Socket, r DisconnectReason) { reasons <- r })
		s.On("slow", func(s *Socket, _ Args, _ Ack) { <-release })
	})
	c := fakeDial(t, srv)
	c.Connect("/", "")
	for i := 0; i < 50; i++ {
		c.Send(`2["slow"]`)
	}
	c.WaitClosed()
	close(release)
	if err := <-errs; !errors.Is(err, ErrInboundOverflow) {
		t.Fatalf("error %v, want ErrInboundOverflow", err)
	}
	if r := <-reasons; r != ReasonForcedClose {
		t.Fatalf("reason %q", r)
	}
}

func TestConnectTimeoutClosesIdleConnections(t *testing.T) {
	srv := newTestServer(t, Options{ConnectTimeout: 200 * time.Millisecond})
	c := fakeDial(t, srv)
	start := time.Now()
	c.WaitClosed()
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("closed after %v, before the connect timeout", d)
	}
	// a connection that joined a namespace stays
	c2 := fakeDial(t, srv)
	c2.Connect("/", "")
	c2.ExpectNothing(400 * time.Millisecond)
}

// The whole stack over loopback WebSockets: packets, binary attachments,
// acknowledgements both ways and a broadcast keep their bytes on the wire.
func TestWire(t *testing.T) {
	srv := startServer(t, Options{})
	srv.OnConnection(func(s *Socket) {
		s.Join("r")
		s.On("echo", func(s *Socket, args Args, ack Ack) {
			_ = s.Emit("echo-back", args.Any()...)
			if ack != nil {
				_ = ack(args.Any()...)
			}
		})
		s.On("ask", func(s *Socket, _ Args, ack Ack) {
			answer, err := s.Timeout(5*time.Second).EmitWithAck(context.Background(), "question")
			_ = ack(answer.Any()...)
			if err != nil {
				t.Error(err)
			}
		})
	})
	a, b := dialWS(t, srv), dialWS(t, srv)
	a.Connect("/", "")
	b.Connect("/", "")
	a.Send(`51-3["echo",{"k":{"_placeholder":true,"num":0}},"é"]`)
	a.SendBinary([]byte{1, 2, 3})
	a.Expect(`51-["echo-back",{"k":{"_placeholder":true,"num":0}},"é"]`)
	a.ExpectBinary([]byte{1, 2, 3})
	a.Expect(`61-3[{"k":{"_placeholder":true,"num":0}},"é"]`)
	a.ExpectBinary([]byte{1, 2, 3})

	b.Send(`27["ask"]`)
	q := b.ExpectPrefix("2")
	b.Send("3" + siotest.AckID(q) + `[{"yes":true}]`)
	b.Expect(`37[{"yes":true}]`)

	if err := srv.To("r").Emit("all", []byte{9}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*siotest.Client{a, b} {
		c.Expect(`51-["all",{"_placeholder":true,"num":0}]`)
		c.ExpectBinary([]byte{9})
	}
}
