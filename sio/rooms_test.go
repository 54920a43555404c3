package sio

import (
	"fmt"
	"testing"
	"time"
)

// A socket's own room (named after its id) is kept outside the room
// registry; it must still behave like any room.
func TestOwnRoom(t *testing.T) {
	srv := newTestServer(t, Options{})
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
	a, b := fakeDial(t, srv), fakeDial(t, srv)
	sa := a.Connect("/", "")
	b.Connect("/", "")

	srv.To(sa).Emit("m", 1)
	a.Expect(`2["m",1]`)
	b.ExpectNothing(30 * time.Millisecond)

	// b joins the room named after a: both get it, each once, also when
	// the same room is named twice or together with another room a is in.
	b.Send(fmt.Sprintf(`21["join",%q]`, sa))
	b.ExpectPrefix(`31`)
	a.Send(`22["join","r"]`)
	a.Expect(fmt.Sprintf(`32[[%q,"r"]]`, sa))
	srv.To(sa, "r", sa).Emit("m", 2)
	a.Expect(`2["m",2]`)
	b.Expect(`2["m",2]`)
	a.ExpectNothing(30 * time.Millisecond)
	srv.To("r").Except(sa).Emit("m", 3) // a is in room sa: excluded
	srv.Emit("m", 4)
	a.Expect(`2["m",4]`)
	b.Expect(`2["m",4]`)

	// a leaves its own room: only b is left in it.
	a.Send(fmt.Sprintf(`23["leave",%q]`, sa))
	a.Expect(`33[["r"]]`)
	srv.To(sa).Emit("m", 5)
	b.Expect(`2["m",5]`)
	a.ExpectNothing(30 * time.Millisecond)
	srv.To("r").Except(sa).Emit("m", 6) // a no longer in room sa
	a.Expect(`2["m",6]`)
	ids, err := srv.In(sa).AllSockets()
	if err != nil || len(ids) != 1 || ids[0] == sa {
		t.Fatalf("AllSockets(%s) = %v, %v; want b only", sa, ids, err)
	}
}
