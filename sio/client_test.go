package sio

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
	"unsafe"

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

// Connections opened over several buckets of the connect watch: those
// that never join are closed once the timeout passed (not before), those
// that join stay, and the watch keeps none of them afterwards.
func TestConnectWatch(t *testing.T) {
	const timeout = 300 * time.Millisecond
	srv := newTestServer(t, Options{ConnectTimeout: timeout})
	type conn struct {
		c      *siotest.Client
		opened time.Time
	}
	var idle, joined []conn
	for i := range 40 {
		c := fakeDial(t, srv)
		if i%2 == 0 {
			c.Connect("/", "")
			joined = append(joined, conn{c, time.Now()})
		} else {
			idle = append(idle, conn{c, time.Now()})
		}
		time.Sleep(timeout / 40) // spread over the buckets (a tenth of the timeout each)
	}
	for _, x := range idle {
		x.c.WaitClosed()
		if d := time.Since(x.opened); d < timeout-10*time.Millisecond {
			t.Fatalf("an idle connection closed after %v, before the timeout %v", d, timeout)
		}
	}
	for _, x := range joined {
		x.c.ExpectNothing(10 * time.Millisecond)
	}
	for i := range srv.connects.shards {
		sh := &srv.connects.shards[i]
		sh.mu.Lock()
		for slot, m := range sh.buckets {
			if len(m) != 0 {
				t.Errorf("shard %d bucket %d still holds %d clients", i, slot, len(m))
			}
		}
		sh.mu.Unlock()
	}
}

// One client exists per connection: keep it in its size class.
func TestClientSize(t *testing.T) {
	if got := unsafe.Sizeof(client{}); got > 112 {
		t.Errorf("client is %d bytes, want at most 112", got)
	}
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

// A client's sockets keep the order they connected in, whichever is
// removed, with the first inline and the others out of line.
func TestClientSocketList(t *testing.T) {
	srv := NewServer(Options{})
	defer srv.Shutdown(context.Background())
	f := &fakeSession{id: newID()}
	c := srv.newClient(f)
	f.c.Store(c)
	c.stopConnectTimer()
	names := []string{"/", "/a", "/b", "/c"}
	var socks []*Socket
	for _, name := range names {
		s := newSocket(srv.Of(name), c, nil, nil)
		if !c.addSocket(s) {
			t.Fatalf("addSocket(%s) refused on an open client", name)
		}
		socks = append(socks, s)
	}
	order := func() (got []string) {
		for _, s := range c.socketList() {
			got = append(got, s.nsp.name)
		}
		return got
	}
	if got := order(); !slices.Equal(got, names) || c.socketCount() != 4 {
		t.Fatalf("sockets %v (count %d), want %v", got, c.socketCount(), names)
	}
	c.removeSocket(socks[0]) // the inline one: the next takes its place
	c.removeSocket(socks[2])
	if got, want := order(), []string{"/a", "/c"}; !slices.Equal(got, want) {
		t.Fatalf("after two removals: %v, want %v", got, want)
	}
	if c.socket("/c") != socks[3] || c.socket("/") != nil || c.socket("/b") != nil {
		t.Fatal("socket(nsp) finds a removed socket or misses a connected one")
	}
	c.removeSocket(socks[1])
	c.removeSocket(socks[3])
	if c.socketCount() != 0 || c.sock != nil {
		t.Fatalf("%d sockets left after removing all", c.socketCount())
	}
	// A one-namespace connection never allocates the out-of-line part.
	f2 := &fakeSession{id: newID()}
	c2 := srv.newClient(f2)
	f2.c.Store(c2)
	c2.stopConnectTimer()
	c2.addSocket(newSocket(srv.Of("/"), c2, nil, nil))
	if c2.x.Load() != nil {
		t.Error("a client with one socket allocated its extra part")
	}
}
