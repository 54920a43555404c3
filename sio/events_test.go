package sio

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

type eventLog struct {
	mu  sync.Mutex
	evs []string
}

func (l *eventLog) add(s string) { l.mu.Lock(); l.evs = append(l.evs, s); l.mu.Unlock() }
func (l *eventLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.evs
	l.evs = nil
	return out
}

// listenRooms records a's room events with the ids replaced by names.
func listenRooms(a RoomEventSource, names map[SocketID]string) (*eventLog, func()) {
	l := &eventLog{}
	name := func(s string) string {
		if n, ok := names[s]; ok {
			return n
		}
		return s
	}
	r1 := a.OnCreateRoom(func(r Room) { l.add("create-room " + name(r)) })
	r2 := a.OnDeleteRoom(func(r Room) { l.add("delete-room " + name(r)) })
	r3 := a.OnJoinRoom(func(r Room, id SocketID) { l.add("join-room " + name(r) + " " + name(id)) })
	r4 := a.OnLeaveRoom(func(r Room, id SocketID) { l.add("leave-room " + name(r) + " " + name(id)) })
	return l, func() { r1(); r2(); r3(); r4() }
}

// The adapter's room events follow the reference's in-memory adapter
// (socket.io-adapter lib/in-memory-adapter.ts addAll, del, delAll): a
// room's creation before its first join, its deletion after its last
// leave, nothing for a join or leave that changes nothing, a socket's own
// room included. test/hooks_test.go runs the same sequence through the npm
// adapter and compares.
func TestRoomEventsFollowTheReference(t *testing.T) {
	srv := newTestServer(t, Options{})
	nsp := srv.Sockets()
	a := nsp.Adapter().(*InMemoryAdapter)
	l, remove := listenRooms(a, nil)
	socks := addFakeSockets(srv, nsp, 2)
	s1, s2 := socks[0], socks[1]
	steps := []struct {
		do   func()
		want []string
	}{
		{func() {}, []string{"create-room s1", "join-room s1 s1", "create-room s2", "join-room s2 s2"}},
		{func() { s1.Join("r", "q") }, []string{"create-room r", "join-room r s1", "create-room q", "join-room q s1"}},
		{func() { s2.Join("r") }, []string{"join-room r s2"}},
		{func() { s1.Join("r") }, nil},
		{func() { s1.Leave("r") }, []string{"leave-room r s1"}},
		{func() { s1.Leave("nope") }, nil},
		{func() { s2.Leave("r") }, []string{"leave-room r s2", "delete-room r"}},
		{func() { a.DelAll(s1.ID()) }, []string{"leave-room s1 s1", "delete-room s1", "leave-room q s1", "delete-room q"}},
	}
	for i, st := range steps {
		st.do()
		got := l.take()
		for j := range got {
			got[j] = strings.NewReplacer(s1.ID(), "s1", s2.ID(), "s2").Replace(got[j])
		}
		if !reflect.DeepEqual(got, st.want) {
			t.Fatalf("step %d: events %q, want %q", i, got, st.want)
		}
	}
	remove()
	s2.Join("after")
	if got := l.take(); got != nil {
		t.Fatalf("removed listeners still called: %q", got)
	}
}

// A room listener may call back into the adapter (it runs outside its
// locks): the Node pattern of announcing a join to the room.
func TestRoomListenerMayBroadcast(t *testing.T) {
	srv := newTestServer(t, Options{})
	nsp := srv.Sockets()
	a := nsp.Adapter().(*InMemoryAdapter)
	a.OnJoinRoom(func(r Room, id SocketID) {
		if r != id {
			_ = nsp.To(r).Emit("joined", id)
			_ = nsp.Adapter().SocketRooms(id)
		}
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		socks := addFakeSockets(srv, nsp, 3)
		for _, s := range socks {
			s.Join("lobby")
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a listener that broadcasts deadlocked the join")
	}
}

// new_namespace: once per namespace created after the listener was added,
// by Of and by a dynamic namespace's first connection.
func TestOnNewNamespace(t *testing.T) {
	srv := newTestServer(t, Options{})
	var l eventLog
	remove := srv.OnNewNamespace(func(n *Namespace) { l.add(n.Name()) })
	srv.Of("/a")
	srv.Of("/a")
	srv.Of("b")
	srv.OfFunc(func(name string, _ json.RawMessage) bool { return strings.HasPrefix(name, "/dyn-") })
	c := fakeDial(t, srv)
	c.Send(`0/dyn-1,`)
	c.ExpectPrefix(`0/dyn-1,{"sid":`)
	if got := l.take(); !reflect.DeepEqual(got, []string{"/a", "/b", "/dyn-1"}) {
		t.Fatalf("new_namespace for %q", got)
	}
	remove()
	srv.Of("/c")
	if got := l.take(); got != nil {
		t.Fatalf("removed listener called for %q", got)
	}
}

// PrependOnConnection runs before the handlers added with OnConnection.
func TestPrependOnConnection(t *testing.T) {
	srv := newTestServer(t, Options{})
	var l eventLog
	srv.OnConnection(func(s *Socket) { l.add("app") })
	srv.Sockets().PrependOnConnection(func(s *Socket) { l.add("first") })
	c := fakeDial(t, srv)
	c.Send(`0`)
	c.ExpectPrefix(`0{"sid":`)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		l.mu.Lock()
		n := len(l.evs)
		l.mu.Unlock()
		if n == 2 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if got := l.take(); !reflect.DeepEqual(got, []string{"first", "app"}) {
		t.Fatalf("order %q", got)
	}
}

// A connection's upgrade reaches its sockets' OnUpgrade listeners on their
// mailboxes.
func TestSocketOnUpgrade(t *testing.T) {
	srv := newTestServer(t, Options{})
	got := make(chan string, 2)
	srv.OnConnection(func(s *Socket) {
		s.OnUpgrade(func(s *Socket, transport string) { got <- s.Namespace().Name() + " " + transport })
	})
	srv.Of("/b").OnConnection(func(s *Socket) {
		s.OnUpgrade(func(s *Socket, transport string) { got <- s.Namespace().Name() + " " + transport })
	})
	c := fakeDial(t, srv)
	c.Send(`0`)
	c.ExpectPrefix(`0{"sid":`)
	c.Send(`0/b,`)
	c.ExpectPrefix(`0/b,{"sid":`)
	cl := srv.Sockets().firstSocket().c
	cl.OnUpgrade(nil, "websocket")
	seen := map[string]bool{}
	for i := 0; i < 2; i++ {
		select {
		case s := <-got:
			seen[s] = true
		case <-time.After(5 * time.Second):
			t.Fatalf("upgrade listeners ran for %v only", seen)
		}
	}
	if !seen["/ websocket"] || !seen["/b websocket"] {
		t.Fatalf("upgrade listeners ran for %v", seen)
	}
}

func (n *Namespace) firstSocket() *Socket {
	var out *Socket
	n.EachSocket(func(s *Socket) bool { out = s; return false })
	return out
}
