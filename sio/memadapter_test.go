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

// A broadcast's sender runs its members through a pipeline a few members
// deep (sender.advance): every selected member gets each packet once, for
// selections shorter and longer than the pipeline, through one room or
// several, with exceptions, and to the whole namespace.
func TestBroadcastPipelineSendsEachMemberOnce(t *testing.T) {
	srv := NewServer(Options{})
	defer srv.Shutdown(context.Background())
	nsp := srv.Sockets()
	socks := addFakeSockets(srv, nsp, 101)
	for i, s := range socks {
		if i%2 == 0 {
			s.Join("even")
		}
		if i%3 == 0 {
			s.Join("three")
		}
		if i < 5 {
			s.Join("few")
		}
	}
	want := make([]int64, len(socks))
	emit := func(op BroadcastOperator, selected func(i int) bool) {
		t.Helper()
		if err := op.Emit("x", 1); err != nil {
			t.Fatal(err)
		}
		for i := range socks {
			if selected(i) {
				want[i]++
			}
		}
	}
	emit(nsp.To("few"), func(i int) bool { return i < 5 })
	emit(nsp.To("even"), func(i int) bool { return i%2 == 0 })
	emit(nsp.To("even", "three"), func(i int) bool { return i%2 == 0 || i%3 == 0 })
	emit(nsp.To("three").Except("even"), func(i int) bool { return i%3 == 0 && i%2 != 0 })
	emit(nsp.Except("few"), func(i int) bool { return i >= 5 })
	emit(nsp.To(Room(socks[7].ID()), "few"), func(i int) bool { return i < 5 || i == 7 })
	for i, s := range socks {
		if got := s.c.sess.(*fakeSession).shared.Load(); got != want[i] {
			t.Errorf("socket %d got %d packets, want %d", i, got, want[i])
		}
	}
}
