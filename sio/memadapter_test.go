package sio

import (
	"context"
	"testing"
)

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
		if got := s.c.sess.(*fakeSession).shared.Load(); got != want {
			t.Errorf("socket %d got %d packets, want %d", i, got, want)
		}
	}
}
