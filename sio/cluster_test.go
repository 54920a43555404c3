package sio

import (
	"context"
	"errors"
	"slices"
	"sort"
	"sync"
	"testing"
)

type roomEvents struct {
	mu     sync.Mutex
	events []string
}

func (r *roomEvents) RoomCreated(room Room) {
	r.mu.Lock()
	r.events = append(r.events, "+"+room)
	r.mu.Unlock()
}
func (r *roomEvents) RoomDeleted(room Room) {
	r.mu.Lock()
	r.events = append(r.events, "-"+room)
	r.mu.Unlock()
}

func (r *roomEvents) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.events
	r.events = nil
	return out
}

// The in-memory adapter reports rooms created and deleted, the sockets'
// own rooms included (as the reference's create-room/delete-room).
func TestRoomListener(t *testing.T) {
	var ev roomEvents
	srv := NewServer(Options{Adapter: func(n *Namespace) Adapter {
		a := NewInMemoryAdapter(n)
		a.SetRoomListener(&ev)
		return a
	}})
	defer srv.Shutdown(context.Background())
	nsp := srv.Sockets()
	socks := addFakeSockets(srv, nsp, 2)
	a, b := socks[0], socks[1]
	if got := ev.take(); !slices.Equal(got, []string{"+" + a.id, "+" + b.id}) {
		t.Fatalf("connect: %v", got)
	}
	a.Join("x", "y")
	b.Join("x")
	if got := ev.take(); !slices.Equal(got, []string{"+x", "+y"}) {
		t.Fatalf("join: %v", got)
	}
	ad := nsp.Adapter().(*InMemoryAdapter)
	if !ad.HasRoom("x") || !ad.HasRoom(a.id) || ad.HasRoom("z") {
		t.Fatal("HasRoom")
	}
	rooms := ad.Rooms()
	sort.Strings(rooms)
	want := []string{a.id, b.id, "x", "y"}
	sort.Strings(want)
	if !slices.Equal(rooms, want) {
		t.Fatalf("Rooms = %v, want %v", rooms, want)
	}
	a.Leave("x")
	if got := ev.take(); len(got) != 0 {
		t.Fatalf("leaving a room that keeps a member: %v", got)
	}
	a.Leave("y")
	a.Leave(a.id)
	if got := ev.take(); !slices.Equal(got, []string{"-y", "-" + a.id}) {
		t.Fatalf("leave: %v", got)
	}
	ad.DelAll(b.id)
	if got := ev.take(); !slices.Equal(got, []string{"-x", "-" + b.id}) && !slices.Equal(got, []string{"-" + b.id, "-x"}) {
		t.Fatalf("DelAll: %v", got)
	}
	if ad.HasRoom(a.id) || ad.HasRoom("x") {
		t.Fatal("rooms left behind")
	}
}

func TestRemotePacket(t *testing.T) {
	srv := NewServer(Options{})
	defer srv.Shutdown(context.Background())
	nsp := srv.Of("/chat")
	p, err := nsp.RemotePacket([]byte(`["file",{"_placeholder":true,"num":0},"x"]`), [][]byte{{1, 2}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if p.Event != "file" || p.ID != -1 || p.Nsp != "/chat" {
		t.Fatalf("%+v", p)
	}
	msgs := p.Encode()
	if string(msgs[0].Data) != `51-/chat,["file",{"_placeholder":true,"num":0},"x"]` || !msgs[1].Binary {
		t.Fatalf("encoded as %q", msgs[0].Data)
	}
	e, err := nsp.RemotePacket([]byte(`["caf\u00e9",1]`), nil, false)
	if err != nil || e.Event != "café" {
		t.Fatalf("escaped name: %q %v", e.Event, err)
	}
	q, err := nsp.RemotePacket([]byte(`["q"]`), nil, true)
	if err != nil || q.ID < 0 {
		t.Fatalf("withAck: %+v %v", q, err)
	}
	for _, bad := range []string{`[]`, `{}`, `["a",{"_placeholder":true,"num":1}]`, `["disconnect"]`, `[1`} {
		if _, err := nsp.RemotePacket([]byte(bad), [][]byte{{1}}, false); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestMakeValue(t *testing.T) {
	att := [][]byte{{9}}
	if v := MakeValue([]byte(`{"_placeholder":true,"num":0}`), att); !v.IsBinary() || v.Bytes()[0] != 9 {
		t.Fatal("top-level placeholder is not binary")
	}
	v := MakeValue([]byte(`{"f":{"_placeholder":true,"num":0}}`), att)
	var dst struct{ F []byte }
	if err := v.Decode(&dst); err != nil || dst.F[0] != 9 || len(v.Attachments()) != 1 {
		t.Fatalf("%v %v", dst, err)
	}
	if MakeValue([]byte(`"s"`), nil).Attachments() != nil {
		t.Fatal("attachments of a plain value")
	}
	// an empty attachment given as nil is still a binary value, not the
	// zero Value (which is sent as null)
	if v := MakeValue([]byte(`{"_placeholder":true,"num":0}`), [][]byte{nil}); !v.IsBinary() || v.IsZero() {
		t.Fatal("an empty attachment is not binary")
	}
}

func TestNewEventPacket(t *testing.T) {
	p, err := NewEventPacket("/", "ev", []any{"a", []byte{1}})
	if err != nil || string(p.Data) != `["ev","a",{"_placeholder":true,"num":0}]` || len(p.Attachments) != 1 {
		t.Fatalf("%+v %v", p, err)
	}
	if _, err := NewEventPacket("/", "connect", nil); !errors.Is(err, ErrReservedEvent) {
		t.Fatal(err)
	}
	if _, err := NewEventPacket("/", "x", []any{AckFunc(func(Args, error) {})}); err == nil {
		t.Fatal("ack accepted")
	}
}

// On one node: no other server answers, and the rooms are the local ones.
func TestSingleNodeClusterAbilities(t *testing.T) {
	srv := NewServer(Options{})
	defer srv.Shutdown(context.Background())
	res, err := srv.ServerSideEmitWithAck(context.Background(), "ping")
	if err != nil || len(res) != 0 {
		t.Fatal(res, err)
	}
	socks := addFakeSockets(srv, srv.Sockets(), 1)
	socks[0].Join("r")
	rooms, err := srv.Sockets().AllRooms()
	if err != nil || len(rooms) != 2 {
		t.Fatal(rooms, err)
	}
	ids, err := srv.Local().To("r").AllSockets()
	if err != nil || len(ids) != 1 {
		t.Fatal(ids, err)
	}
	var got []string
	srv.Sockets().OnServerSideEmit("e", func(args Args, ack Ack) {
		s, _ := Arg[string](args, 0)
		got = append(got, s)
		if ack != nil {
			_ = ack("ok")
		}
	})
	srv.Sockets().DeliverServerSideEmit("e", Args{MakeValue([]byte(`"hi"`), nil)}, nil)
	if !slices.Equal(got, []string{"hi"}) {
		t.Fatal(got)
	}
}
