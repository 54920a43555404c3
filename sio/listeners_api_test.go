package sio

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// record collects what handlers saw, in order, across goroutines.
type record struct {
	mu   sync.Mutex
	seen []string
	more chan struct{}
}

func newRecord() *record { return &record{more: make(chan struct{}, 1024)} }

func (r *record) add(s string) {
	r.mu.Lock()
	r.seen = append(r.seen, s)
	r.mu.Unlock()
	r.more <- struct{}{}
}

// wait returns what was recorded once there are n entries.
func (r *record) wait(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		r.mu.Lock()
		if len(r.seen) >= n {
			out := append([]string(nil), r.seen...)
			r.seen = r.seen[:0]
			r.mu.Unlock()
			return out
		}
		r.mu.Unlock()
		select {
		case <-r.more:
		case <-deadline:
			r.mu.Lock()
			defer r.mu.Unlock()
			t.Fatalf("recorded %q, want %d entries", r.seen, n)
		}
	}
}

// On returns a remover for its own registration only, also when the same
// function is registered twice; removing twice does nothing.
func TestOnRemover(t *testing.T) {
	srv := newTestServer(t, Options{})
	rec := newRecord()
	srv.OnConnection(func(s *Socket) {
		h := func(tag string) EventHandler {
			return func(s *Socket, args Args, _ Ack) { rec.add(tag) }
		}
		same := h("same")
		offA := s.On("ev", h("a"))
		offSame1 := s.On("ev", same)
		s.On("ev", h("b"))
		s.On("ev", same)
		offTyped := OnTyped(s, "typed", func(s *Socket, v int, _ Ack) { rec.add("typed") })
		s.On("remove", func(s *Socket, _ Args, _ Ack) {
			offA()
			offSame1()
			offSame1() // no-op
			offA()     // no-op
			offTyped()
			rec.add("removed")
		})
	})
	c := fakeDial(t, srv)
	c.Connect("/", "")
	c.Send(`2["typed",1]`)
	c.Send(`2["ev"]`)
	if got := strings.Join(rec.wait(t, 5), ","); got != "typed,a,same,b,same" {
		t.Fatalf("before removal: %s", got)
	}
	c.Send(`2["remove"]`)
	c.Send(`2["typed",1]`)
	c.Send(`2["ev"]`)
	if got := strings.Join(rec.wait(t, 3), ","); got != "removed,b,same" {
		t.Fatalf("after removal: %s", got)
	}
}

// On("disconnect") and On("disconnecting") run as in the reference, with
// the reason as their argument, in one registration order with
// OnDisconnect and OnDisconnecting; their removers work.
func TestOnDisconnectEvents(t *testing.T) {
	srv := newTestServer(t, Options{})
	rec := newRecord()
	srv.OnConnection(func(s *Socket) {
		s.Join("r1")
		s.On("disconnecting", func(s *Socket, args Args, ack Ack) {
			r, err := Arg[string](args, 0)
			rec.add("on-disconnecting:" + r + ":" + strings.Join(s.Rooms(), "+") + ":" + errString(err) + nilAck(ack))
		})
		s.OnDisconnecting(func(s *Socket, r DisconnectReason) { rec.add("OnDisconnecting:" + string(r)) })
		offTyped := s.OnDisconnect(func(s *Socket, r DisconnectReason) { rec.add("removed OnDisconnect") })
		OnTyped(s, "disconnect", func(s *Socket, r DisconnectReason, _ Ack) { rec.add("typed:" + string(r)) })
		off := s.On("disconnect", func(s *Socket, args Args, _ Ack) { rec.add("removed On") })
		s.On("disconnect", func(s *Socket, args Args, _ Ack) {
			rec.add("on-disconnect:" + args.String() + ":" + strings.Join(s.Rooms(), "+"))
		})
		s.OnDisconnect(func(s *Socket, r DisconnectReason) { rec.add("OnDisconnect:" + string(r)) })
		off()
		offTyped()
	})
	c := fakeDial(t, srv)
	c.Connect("/", "")
	c.Send("1")
	got := rec.wait(t, 5)
	want := []string{
		"on-disconnecting:client namespace disconnect:" + got[0][len("on-disconnecting:client namespace disconnect:"):],
		"OnDisconnecting:client namespace disconnect",
		"typed:client namespace disconnect",
		`on-disconnect:["client namespace disconnect"]:`,
		"OnDisconnect:client namespace disconnect",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(got[0], "+r1:") || !strings.HasSuffix(got[0], ":ack=nil") {
		t.Errorf("disconnecting handler: rooms still readable, no error, no ack: %s", got[0])
	}
}

func nilAck(a Ack) string {
	if a == nil {
		return "ack=nil"
	}
	return "ack=set"
}

// The reference's other reserved names, and nil handlers, panic at
// registration.
func TestOnRefusesReservedNames(t *testing.T) {
	srv := newTestServer(t, Options{})
	s := addFakeSockets(srv, srv.Sockets(), 1)[0]
	h := func(*Socket, Args, Ack) {}
	for _, name := range []string{"connect", "connect_error", "newListener", "removeListener"} {
		func() {
			defer func() {
				v := recover()
				if v == nil {
					t.Fatalf("On(%q) did not panic", name)
				}
				if msg, _ := v.(string); !strings.Contains(msg, `"`+name+`"`) || !strings.Contains(msg, "reserved") {
					t.Errorf("On(%q) panicked with %v", name, v)
				}
			}()
			s.On(name, h)
		}()
	}
	mustPanic := func(what string, fn func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s did not panic", what)
			}
		}()
		fn()
	}
	mustPanic("On(nil)", func() { s.On("x", nil) })
	mustPanic("OnAny(nil)", func() { s.OnAny(nil) })
	mustPanic("OnAnyOutgoing(nil)", func() { s.OnAnyOutgoing(nil) })
	mustPanic("OnDisconnect(nil)", func() { s.OnDisconnect(nil) })
	mustPanic("OnError(nil)", func() { s.OnError(nil) })
	mustPanic("OnTyped connect", func() { OnTyped(s, "connect", func(*Socket, string, Ack) {}) })
	// the names a handler may use: disconnect, disconnecting, and any other
	for _, name := range []string{"disconnect", "disconnecting", "error", "message", ""} {
		s.On(name, h)()
	}
}

// OnAny, PrependAny, offAny(listener) through the remover, OffAny,
// ListenersAny: the reference's order and semantics.
func TestAnyListeners(t *testing.T) {
	srv := newTestServer(t, Options{})
	rec := newRecord()
	var s0 *Socket
	ready := make(chan struct{})
	srv.OnConnection(func(s *Socket) {
		l := func(tag string) AnyHandler {
			return func(s *Socket, event string, args []any) { rec.add(tag + ":" + event) }
		}
		if n := len(s.ListenersAny()); n != 0 {
			t.Errorf("ListenersAny before any: %d", n)
		}
		offA := s.OnAny(l("a"))
		s.OnAny(l("b"))
		s.PrependAny(l("p"))
		offC := s.OnAny(l("c"))
		if n := len(s.ListenersAny()); n != 4 {
			t.Errorf("ListenersAny: %d listeners, want 4", n)
		}
		// the copy is the listeners in run order: p, a, b, c
		ls := s.ListenersAny()
		ls[0](s, "direct", nil)
		ls[3](s, "direct", nil)
		ls[0] = nil // changes nothing
		offA()
		offC()
		offC()
		s.On("ev", func(s *Socket, _ Args, _ Ack) { rec.add("handler") })
		s0 = s
		close(ready)
	})
	c := fakeDial(t, srv)
	c.Connect("/", "")
	<-ready
	if got := strings.Join(rec.wait(t, 2), ","); got != "p:direct,c:direct" {
		t.Fatalf("ListenersAny order: %s", got)
	}
	c.Send(`2["ev"]`)
	if got := strings.Join(rec.wait(t, 3), ","); got != "p:ev,b:ev,handler" {
		t.Fatalf("after removals: %s", got)
	}
	s0.OffAny()
	if n := len(s0.ListenersAny()); n != 0 {
		t.Fatalf("ListenersAny after OffAny: %d", n)
	}
	c.Send(`2["ev"]`)
	if got := strings.Join(rec.wait(t, 1), ","); got != "handler" {
		t.Fatalf("after OffAny: %s", got)
	}
}

// The outgoing twins, and the namespace's count of sockets with outgoing
// listeners (which makes broadcasts call them) kept right by removers.
func TestAnyOutgoingListeners(t *testing.T) {
	srv := newTestServer(t, Options{})
	nsp := srv.Sockets()
	s := addFakeSockets(srv, nsp, 1)[0]
	var seen []string
	l := func(tag string) AnyHandler {
		return func(s *Socket, event string, args []any) { seen = append(seen, tag+":"+event) }
	}
	offA := s.OnAnyOutgoing(l("a"))
	offP := s.PrependAnyOutgoing(l("p"))
	s.OnAnyOutgoing(l("b"))
	if got := nsp.outHook.Load(); got != 1 {
		t.Fatalf("outHook = %d, want 1", got)
	}
	if n := len(s.ListenersAnyOutgoing()); n != 3 {
		t.Fatalf("ListenersAnyOutgoing: %d", n)
	}
	_ = s.Emit("one")
	_ = nsp.Emit("two")
	offA()
	offA()
	_ = s.Emit("three")
	if got := strings.Join(seen, ","); got != "p:one,a:one,b:one,p:two,a:two,b:two,p:three,b:three" {
		t.Fatalf("outgoing listeners saw %s", got)
	}
	if got := nsp.outHook.Load(); got != 1 {
		t.Fatalf("outHook = %d after one removal, want 1", got)
	}
	offP()
	s.OffAnyOutgoing()
	if got := nsp.outHook.Load(); got != 0 {
		t.Fatalf("outHook = %d after removing all, want 0", got)
	}
	off := s.OnAnyOutgoing(l("x"))
	off()
	off()
	if got := nsp.outHook.Load(); got != 0 {
		t.Fatalf("outHook = %d after add and remove, want 0", got)
	}
}

func TestOnErrorRemover(t *testing.T) {
	srv := newTestServer(t, Options{})
	s := addFakeSockets(srv, srv.Sockets(), 1)[0]
	var seen []string
	off := s.OnError(func(s *Socket, err error) { seen = append(seen, "a:"+err.Error()) })
	s.OnError(func(s *Socket, err error) { seen = append(seen, "b:"+err.Error()) })
	s.fireError(ErrDisconnected)
	off()
	s.fireError(ErrReservedEvent)
	if got := strings.Join(seen, ","); got != "a:"+ErrDisconnected.Error()+",b:"+ErrDisconnected.Error()+",b:"+ErrReservedEvent.Error() {
		t.Fatalf("error handlers saw %s", got)
	}
}

// Removers with shared lists: a socket that got an existing shared list
// removes its own registration (numbered as in that list) and nothing of
// the sockets it shared with; OnDisconnect and On("disconnect") keep one
// registration order in shared lists too.
func TestRemoverOnSharedLists(t *testing.T) {
	srv := newTestServer(t, Options{})
	nsp := srv.Of("/")
	socks := addFakeSockets(srv, nsp, 6)
	offs := make([]func(), len(socks))
	for i, s := range socks {
		s.On("ping", onPing)
		offs[i] = s.On("who", onWho)
		s.OnDisconnect(onGone)
	}
	a, b := socks[4], socks[5]
	if a.lst != b.lst || a.lst.node == nil {
		t.Fatal("sockets 5 and 6 do not share their list")
	}
	shared := a.lst
	offs[5]() // b's "who", from a list b did not build
	if a.lst != shared || len(shared.events) != 2 {
		t.Fatal("removing from b changed the shared list")
	}
	if len(b.lst.events) != 1 || b.lst.events[0].event != "ping" || len(b.lst.disconnect) != 1 {
		t.Fatalf("b after its remover: %+v", b.lst)
	}
	offs[5]()
	if len(b.lst.events) != 1 {
		t.Fatal("a second call removed more")
	}
	// numbering goes on after a removal: a later registration's remover
	// removes it, not another
	off := b.On("extra", onPing)
	b.On("extra2", onPing)
	off()
	if len(b.lst.events) != 2 || b.lst.events[1].event != "extra2" {
		t.Fatalf("b after removing extra: %+v", b.lst.events)
	}
}

// The typed disconnect handlers and On("disconnect") run in one
// registration order, shared lists or not.
func TestDisconnectOrderShared(t *testing.T) {
	srv := newTestServer(t, Options{})
	var mu sync.Mutex
	var order []string
	first := func(s *Socket, r DisconnectReason) { mu.Lock(); order = append(order, "typed1"); mu.Unlock() }
	mid := func(s *Socket, args Args, _ Ack) { mu.Lock(); order = append(order, "on"); mu.Unlock() }
	last := func(s *Socket, r DisconnectReason) { mu.Lock(); order = append(order, "typed2"); mu.Unlock() }
	socks := addFakeSockets(srv, srv.Of("/"), 4)
	for _, s := range socks {
		s.OnDisconnect(first)
		s.On("disconnect", mid)
		s.OnDisconnect(last)
	}
	if socks[3].lst.node == nil {
		t.Fatal("the list is not shared")
	}
	socks[3].Disconnect(false)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		mu.Lock()
		n := len(order)
		mu.Unlock()
		if n >= 3 || time.Now().After(deadline) {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(order, ","); got != "typed1,on,typed2" {
		t.Fatalf("order %s", got)
	}
}
