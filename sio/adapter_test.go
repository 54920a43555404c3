package sio

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// three clients in rooms; broadcasts reach the right ones, once each.
func TestRoomsAndBroadcast(t *testing.T) {
	srv := startServer(t, Options{})
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
	a, b, c := dialWS(t, srv), dialWS(t, srv), dialWS(t, srv)
	sa := a.connect("/", "")
	b.connect("/", "")
	c.connect("/", "")
	a.send(`21["join","r1"]`)
	a.expect(`31[]`)
	b.send(`21["join","r1","r2"]`)
	b.expect(`31[]`)

	if err := srv.To("r1", "r2").Emit("m", 1); err != nil {
		t.Fatal(err)
	}
	a.expect(`2["m",1]`)
	b.expect(`2["m",1]`) // once, although in both rooms
	if err := srv.To("r1").Except("r2").Emit("m", 2); err != nil {
		t.Fatal(err)
	}
	a.expect(`2["m",2]`)
	if err := srv.Except(sa).Emit("m", 3); err != nil {
		t.Fatal(err)
	}
	b.expect(`2["m",3]`)
	c.expect(`2["m",3]`)
	// socket.broadcast excludes the sender
	a.send(`2["shout","hi"]`)
	b.expect(`2["shout","hi"]`)
	c.expect(`2["shout","hi"]`)
	srv.In("r2").SocketsJoin("r3")
	srv.To("r3").Emit("m", 4)
	b.expect(`2["m",4]`)
	srv.SocketsLeave("r3")
	srv.To("r3").Emit("m", 5)
	srv.Emit("m", 6)
	a.expect(`2["m",6]`)
	b.expect(`2["m",6]`)
	c.expect(`2["m",6]`)
	b.send(`22["leave","r1"]`)
	b.expect(`32[]`)

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
	a.expect(`2["direct","x"]`)
	srv.In("r1").DisconnectSockets(false)
	a.expect(`1`)
	b.expectNothing(50 * time.Millisecond)
	c.expectNothing(0)
}

func sortStrings(s []string) []string { sort.Strings(s); return s }

// A socket's own room (named after its id) is kept outside the room
// registry; it must still behave like any room.
func TestOwnRoom(t *testing.T) {
	srv := startServer(t, Options{})
	srv.OnConnection(func(s *Socket) {
		s.On("join", func(s *Socket, args Args, ack Ack) {
			r, _ := Arg[string](args, 0)
			s.Join(r)
			_ = ack(s.Rooms())
		})
		s.On("leave", func(s *Socket, args Args, ack Ack) {
			r, _ := Arg[string](args, 0)
			s.Leave(r)
			_ = ack(s.Rooms())
		})
	})
	a, b := dialWS(t, srv), dialWS(t, srv)
	sa := a.connect("/", "")
	b.connect("/", "")

	srv.To(sa).Emit("m", 1)
	a.expect(`2["m",1]`)
	b.expectNothing(30 * time.Millisecond)

	// b joins the room named after a: both get it, each once, also when
	// the same room is named twice or together with another room a is in.
	b.send(fmt.Sprintf(`21["join",%q]`, sa))
	b.expectPrefix(`31`)
	a.send(`22["join","r"]`)
	a.expect(fmt.Sprintf(`32[[%q,"r"]]`, sa))
	srv.To(sa, "r", sa).Emit("m", 2)
	a.expect(`2["m",2]`)
	b.expect(`2["m",2]`)
	a.expectNothing(30 * time.Millisecond)
	srv.To("r").Except(sa).Emit("m", 3) // a is in room sa: excluded
	srv.Emit("m", 4)
	a.expect(`2["m",4]`)
	b.expect(`2["m",4]`)

	// a leaves its own room: only b is left in it.
	a.send(fmt.Sprintf(`23["leave",%q]`, sa))
	a.expect(`33[["r"]]`)
	srv.To(sa).Emit("m", 5)
	b.expect(`2["m",5]`)
	a.expectNothing(30 * time.Millisecond)
	srv.To("r").Except(sa).Emit("m", 6) // a no longer in room sa
	a.expect(`2["m",6]`)
	ids, err := srv.In(sa).AllSockets()
	if err != nil || len(ids) != 1 || ids[0] == sa {
		t.Fatalf("AllSockets(%s) = %v, %v; want b only", sa, ids, err)
	}
}

func TestBroadcastWithAck(t *testing.T) {
	srv := startServer(t, Options{})
	a, b := dialWS(t, srv), dialWS(t, srv)
	a.connect("/", "")
	b.connect("/", "")
	type result struct {
		res []Args
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := srv.Timeout(3*time.Second).EmitWithAck(context.Background(), "q", "?")
		done <- result{res, err}
	}()
	for i, c := range []*wsClient{a, b} {
		m := c.expectPrefix("2")
		c.send(fmt.Sprintf("3%s[%d]", m[1:strings.IndexByte(m, '[')], i))
	}
	r := <-done
	if r.err != nil || len(r.res) != 2 {
		t.Fatalf("EmitWithAck = %v, %v; want 2 answers", r.res, r.err)
	}
	// one client does not answer: a timeout error says how many did
	go func() {
		res, err := srv.Timeout(200*time.Millisecond).EmitWithAck(context.Background(), "q", "?")
		done <- result{res, err}
	}()
	m := a.expectPrefix("2")
	a.send("3" + m[1:strings.IndexByte(m, '[')] + `["yes"]`)
	b.expectPrefix("2")
	r = <-done
	var te *AckError
	if !errors.As(r.err, &te) || !errors.Is(r.err, ErrAckTimeout) || te.Answered != 1 || te.Expected != 2 {
		t.Fatalf("err = %v, want a timeout with 1 of 2 answers", r.err)
	}
	if want := "operation has timed out: 1 of 2 clients answered"; r.err.Error() != want {
		t.Fatalf("error text %q, want %q", r.err.Error(), want)
	}
	if len(r.res) != 1 || r.res[0][0].String() != `"yes"` {
		t.Fatalf("responses %v", r.res)
	}
}

// adapter semantics without a network.
func TestInMemoryAdapterRooms(t *testing.T) {
	srv := NewServer(Options{})
	defer srv.Shutdown(context.Background())
	nsp := srv.Sockets()
	socks := addFakeSockets(srv, nsp, 4)
	socks[0].Join("a", "b")
	socks[1].Join("b")
	socks[2].Join("c")
	count := func(opts *BroadcastOptions) int {
		ids, _ := nsp.adapter.(*InMemoryAdapter).FetchSockets(opts)
		return len(ids)
	}
	cases := []struct {
		opts BroadcastOptions
		want int
	}{
		{BroadcastOptions{}, 4},
		{BroadcastOptions{Rooms: []Room{"a", "b"}}, 2},
		{BroadcastOptions{Rooms: []Room{"a", "b", "c"}}, 3},
		{BroadcastOptions{Rooms: []Room{"b"}, Except: []Room{"a"}}, 1},
		{BroadcastOptions{Except: []Room{"b", "c"}}, 1},
		{BroadcastOptions{Rooms: []Room{"nope"}}, 0},
	}
	for _, c := range cases {
		if got := count(&c.opts); got != c.want {
			t.Errorf("%+v selects %d sockets, want %d", c.opts, got, c.want)
		}
	}
	a := nsp.adapter.(*InMemoryAdapter)
	socks[0].Leave("a")
	a.DelAll(socks[1].id)
	if got := count(&BroadcastOptions{Rooms: []Room{"a", "b"}}); got != 1 {
		t.Errorf("after leaving: %d sockets in a or b, want 1", got)
	}
	socks[0].Leave("b")
	for i := range a.rooms {
		sh := &a.rooms[i]
		for r := range sh.rooms {
			if r == "a" || r == "b" {
				t.Errorf("empty room %q kept", r)
			}
		}
	}
	// a broadcast writes once per selected member
	if err := nsp.To("c").Emit("x"); err != nil {
		t.Fatal(err)
	}
	for i, s := range socks {
		want := int64(0)
		if i == 2 {
			want = 1
		}
		if got := s.c.sess.(*fakeSession).prepared.Load(); got != want {
			t.Errorf("socket %d got %d packets, want %d", i, got, want)
		}
	}
}

// Allocations per broadcast do not grow with the number of members.
func TestBroadcastAllocsConstant(t *testing.T) {
	allocs := func(members int) float64 {
		srv := NewServer(Options{})
		defer srv.Shutdown(context.Background())
		nsp := srv.Sockets()
		for _, s := range addFakeSockets(srv, nsp, members) {
			s.Join("room")
		}
		op := nsp.To("room")
		return testing.AllocsPerRun(50, func() { _ = op.Emit("tick", "payload", 42) })
	}
	small, big := allocs(10), allocs(10_000)
	t.Logf("allocations per broadcast: %.0f with 10 members, %.0f with 10,000", small, big)
	if big > small+1 || big > 20 {
		t.Fatalf("allocations per broadcast grow with members: %.0f with 10, %.0f with 10,000", small, big)
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
	clients := make([]*wsClient, 0, n)
	for i := 0; i < n; i++ {
		c, err := tryDialWS(srv, false)
		if err != nil {
			b.Fatalf("client %d: %v", i, err)
		}
		c.write(ws.OpText, []byte("40"))
		clients = append(clients, c)
	}
	defer func() {
		for _, c := range clients {
			c.conn.Close()
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
			t += c.count.Load()
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
