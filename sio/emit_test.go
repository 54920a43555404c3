package sio

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fanio/fanio/internal/siotest"
)

// connectOne connects a fake client and returns its socket.
func connectOne(t *testing.T, srv *Server) (*Socket, *siotest.Client) {
	t.Helper()
	socks := make(chan *Socket, 1)
	srv.OnConnection(func(s *Socket) { socks <- s })
	c := fakeDial(t, srv)
	c.Connect("/", "")
	return <-socks, c
}

// Volatile packets are dropped while the transport cannot take them now,
// for one socket and for broadcasts alike.
func TestVolatileDroppedWhenNotWritable(t *testing.T) {
	srv := newTestServer(t, Options{})
	s, c := connectOne(t, srv)
	sess := s.c.sess.(*fakeSession)
	sess.notWritable.Store(true)
	if err := s.Volatile().Emit("v", 1); err != nil {
		t.Fatal(err)
	}
	_ = srv.Volatile().Emit("v", 2)
	_ = s.Emit("kept", 3) // not volatile: queued whatever the transport's state
	c.Expect(`2["kept",3]`)
	c.ExpectNothing(30 * time.Millisecond)
	sess.notWritable.Store(false)
	_ = s.Volatile().Emit("v", 4)
	_ = srv.Volatile().Emit("v", 5)
	c.Expect(`2["v",4]`)
	c.Expect(`2["v",5]`)
}

// An acknowledgement callback is the last argument of Emit, of the kind
// that fits the target; anything else is refused before sending.
func TestEmitAckPlacement(t *testing.T) {
	srv := newTestServer(t, Options{})
	s, _ := connectOne(t, srv)
	cases := map[string]error{
		"broadcast callback to one socket": s.Emit("x", BroadcastAckFunc(func([]Args, error) {})),
		"callback not last":                s.Emit("x", AckFunc(func(Args, error) {}), 1),
		"callback to EmitWithAck": func() error {
			_, err := s.Timeout(time.Second).EmitWithAck(context.Background(), "x", AckFunc(func(Args, error) {}))
			return err
		}(),
		"socket callback to a broadcast": srv.Emit("x", func(Args, error) {}),
	}
	for name, err := range cases {
		if !errors.Is(err, errAckPlacement) {
			t.Errorf("%s: err %v, want errAckPlacement", name, err)
		}
	}
	if err := s.Emit("connect"); !errors.Is(err, ErrReservedEvent) {
		t.Errorf("reserved event: %v", err)
	}
}

// BenchmarkEmit measures one emit to one socket: encoding the arguments
// and queuing the packet on a (fake) session.
func BenchmarkEmit(b *testing.B) {
	srv := NewServer(Options{})
	defer shutdown(srv)
	s := addFakeSockets(srv, srv.Sockets(), 1)[0]
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = s.Emit("tick", "payload", i)
	}
}

// BenchmarkEmitStruct measures emitting a struct: one encoding/json writes
// whole, and ones sio walks because they hold a []byte or an interface.
func BenchmarkEmitStruct(b *testing.B) {
	type plain struct {
		User string   `json:"user"`
		Text string   `json:"text"`
		Tags []string `json:"tags"`
		At   int64    `json:"at"`
	}
	type withBytes struct {
		User string   `json:"user"`
		Text string   `json:"text"`
		Tags []string `json:"tags"`
		At   int64    `json:"at"`
		File []byte   `json:"file"`
	}
	type withAny struct {
		User string   `json:"user"`
		Text string   `json:"text"`
		Tags []string `json:"tags"`
		At   int64    `json:"at"`
		Meta any      `json:"meta"`
	}
	cases := []struct {
		name string
		v    any
	}{
		{"plain", plain{"alice", "hello", []string{"a", "b"}, 1700000000}},
		{"bytes", withBytes{"alice", "hello", []string{"a", "b"}, 1700000000, []byte("file")}},
		{"any", withAny{"alice", "hello", []string{"a", "b"}, 1700000000, "m"}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			srv := NewServer(Options{})
			defer shutdown(srv)
			s := addFakeSockets(srv, srv.Sockets(), 1)[0]
			b.ReportAllocs()
			for b.Loop() {
				_ = s.Emit("msg", c.v)
			}
		})
	}
}
