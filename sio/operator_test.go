package sio

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fanio/fanio/internal/siotest"
)

// three clients in rooms; broadcasts reach the right ones, once each.
func TestRoomsAndBroadcast(t *testing.T) {
	srv := newTestServer(t, Options{})
	srv.OnConnection(func(s *Socket) {
		s.On("join", func(s *Socket, args Args, ack Ack) {
			for i := range args {
				r, _ := Arg[string](args, i)
				s.Join(r)
			}
			_ = ack()
		})
		s.On("leave", func(s *Socket, args Args, ack Ack) {
			r, _ := Arg[string](args, 0)
			s.Leave(r)
			_ = ack()
		})
		s.On("shout", func(s *Socket, args Args, _ Ack) {
			_ = s.Broadcast().Emit("shout", args.Any()...)
		})
	})
	a, b, c := fakeDial(t, srv), fakeDial(t, srv), fakeDial(t, srv)
	sa := a.Connect("/", "")
	b.Connect("/", "")
	c.Connect("/", "")
	a.Send(`21["join","r1"]`)
	a.Expect(`31[]`)
	b.Send(`21["join","r1","r2"]`)
	b.Expect(`31[]`)

	if err := srv.To("r1", "r2").Emit("m", 1); err != nil {
		t.Fatal(err)
	}
	a.Expect(`2["m",1]`)
	b.Expect(`2["m",1]`) // once, although in both rooms
	if err := srv.To("r1").Except("r2").Emit("m", 2); err != nil {
		t.Fatal(err)
	}
	a.Expect(`2["m",2]`)
	if err := srv.Except(sa).Emit("m", 3); err != nil {
		t.Fatal(err)
	}
	b.Expect(`2["m",3]`)
	c.Expect(`2["m",3]`)
	// socket.broadcast excludes the sender
	a.Send(`2["shout","hi"]`)
	b.Expect(`2["shout","hi"]`)
	c.Expect(`2["shout","hi"]`)
	srv.In("r2").SocketsJoin("r3")
	srv.To("r3").Emit("m", 4)
	b.Expect(`2["m",4]`)
	srv.SocketsLeave("r3")
	srv.To("r3").Emit("m", 5)
	srv.Emit("m", 6)
	a.Expect(`2["m",6]`)
	b.Expect(`2["m",6]`)
	c.Expect(`2["m",6]`)
	b.Send(`22["leave","r1"]`)
	b.Expect(`32[]`)

	socks, err := srv.In("r1").FetchSockets()
	if err != nil || len(socks) != 1 || socks[0].ID != sa {
		t.Fatalf("FetchSockets(r1) = %v, %v; want only %s", socks, err, sa)
	}
	rooms := append([]string(nil), socks[0].Rooms...)
	sort.Strings(rooms)
	if want := []string{"r1", sa}; strings.Join(rooms, ",") != strings.Join(sortStrings(want), ",") {
		t.Fatalf("rooms %v, want %v", rooms, want)
	}
	socks[0].Emit("direct", "x")
	a.Expect(`2["direct","x"]`)
	srv.In("r1").DisconnectSockets(false)
	a.Expect(`1`)
	b.ExpectNothing(50 * time.Millisecond)
	c.ExpectNothing(0)
}

func sortStrings(s []string) []string { sort.Strings(s); return s }

// Allocations per broadcast do not grow with the number of members, to a
// room or to the whole namespace.
func TestBroadcastAllocsConstant(t *testing.T) {
	for _, rooms := range [][]Room{{"room"}, nil} {
		allocs := func(members int) float64 {
			srv := NewServer(Options{})
			defer srv.Shutdown(context.Background())
			nsp := srv.Sockets()
			for _, s := range addFakeSockets(srv, nsp, members) {
				s.Join("room")
			}
			op := nsp.To(rooms...)
			return testing.AllocsPerRun(50, func() { _ = op.Emit("tick", "payload", 42) })
		}
		small, big := allocs(10), allocs(10_000)
		t.Logf("rooms %q: allocations per broadcast: %.0f with 10 members, %.0f with 10,000", rooms, small, big)
		if big > small+1 || big > 20 {
			t.Fatalf("rooms %q: allocations per broadcast grow with members: %.0f with 10, %.0f with 10,000", rooms, small, big)
		}
	}
}

// BenchmarkBroadcast measures one broadcast to a room of N members: with
// fake sessions (the adapter and encoding alone) and with real WebSocket
// sessions over loopback (the whole path down to the write queues).
func BenchmarkBroadcast(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		b.Run(fmt.Sprintf("fake/%d", n), func(b *testing.B) {
			srv := NewServer(Options{})
			defer srv.Shutdown(context.Background())
			nsp := srv.Sockets()
			for _, s := range addFakeSockets(srv, nsp, n) {
				s.Join("room")
			}
			op := nsp.To("room")
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				_ = op.Emit("tick", "payload", i)
			}
		})
	}
	// 5,000 real members use 10,000 descriptors (both ends in this process).
	for _, n := range []int{1_000, 5_000} {
		b.Run(fmt.Sprintf("websocket/%d", n), func(b *testing.B) {
			benchRealBroadcast(b, n)
		})
	}
}

func benchRealBroadcast(b *testing.B, n int) {
	srv := startServer(b, Options{PingInterval: time.Minute, PingTimeout: time.Minute})
	var joined atomic.Int64
	srv.OnConnection(func(s *Socket) {
		s.Join("room")
		joined.Add(1)
	})
	clients := make([]*siotest.Counter, 0, n)
	for i := 0; i < n; i++ {
		c, err := siotest.DialCounter(srv.Addr().String())
		if err != nil {
			b.Fatalf("client %d: %v", i, err)
		}
		if err := c.Send("0"); err != nil {
			b.Fatalf("client %d: %v", i, err)
		}
		clients = append(clients, c)
	}
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for joined.Load() < int64(n) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if joined.Load() < int64(n) {
		b.Fatalf("only %d of %d joined", joined.Load(), n)
	}
	op := srv.To("room")
	total := func() int64 {
		var t int64
		for _, c := range clients {
			t += c.Count()
		}
		return t
	}
	base := total()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = op.Emit("tick", "payload", i)
		// pace to what the clients read, so queues stay bounded
		if i%64 == 63 {
			want := base + int64(i+1-64)*int64(n)
			for total() < want && time.Now().Before(deadline.Add(time.Minute)) {
				time.Sleep(100 * time.Microsecond)
			}
		}
	}
	b.StopTimer()
}
