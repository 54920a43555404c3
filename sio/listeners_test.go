package sio

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

// Package-level handlers, as an application's connection handler would
// register them: the same func values for every socket.
func onPing(s *Socket, args Args, ack Ack) {
	if ack != nil {
		_ = ack("pong:" + s.Namespace().Name())
	}
}

func onWho(s *Socket, args Args, ack Ack) {
	if ack != nil {
		_ = ack(s.ID())
	}
}

var disconnects atomic.Int64

func onGone(s *Socket, reason DisconnectReason) { disconnects.Add(1) }

// Sockets that register the same handlers share one list after the first
// few; each handler still gets its own socket.
func TestListenersShared(t *testing.T) {
	srv := newTestServer(t, Options{})
	var mu sync.Mutex
	var socks []*Socket
	srv.OnConnection(func(s *Socket) {
		s.On("ping", onPing)
		s.On("who", onWho)
		s.OnDisconnect(onGone)
		mu.Lock()
		socks = append(socks, s)
		mu.Unlock()
	})
	const n = 10
	clients := make([]string, n)
	for i := range n {
		c := fakeDial(t, srv)
		id := c.Connect("/", "")
		clients[i] = id
		c.Send(`21["who"]`)
		c.Expect(fmt.Sprintf(`31[%q]`, id))
		c.Send(`22["ping"]`)
		c.Expect(`32["pong:/"]`)
		defer c.Close()
	}
	mu.Lock()
	defer mu.Unlock()
	last := socks[n-1].lst
	if last == nil || last.node == nil {
		t.Fatalf("the last socket's handlers are not a shared list: %+v", last)
	}
	shared := 0
	for _, s := range socks {
		if s.lst == last {
			shared++
		}
	}
	// Three registrations: the fifth socket on share the whole list.
	if shared < n-4 {
		t.Errorf("%d of %d sockets share the handler list, want at least %d", shared, n, n-4)
	}
	if got := len(last.events); got != 2 || len(last.disconnect) != 1 {
		t.Errorf("shared list has %d handlers and %d disconnect handlers", got, len(last.disconnect))
	}
	if cap(last.events) != len(last.events) || cap(last.disconnect) != len(last.disconnect) {
		t.Error("a shared list's slices have spare capacity: an append could write into them")
	}
}

// Closures made per socket are never shared: each socket's handler is its
// own, and the tree retains none of them.
func TestListenersPerSocketClosures(t *testing.T) {
	srv := newTestServer(t, Options{})
	srv.OnConnection(func(s *Socket) {
		tag := s.ID()[:4]
		s.On("tag", func(s *Socket, args Args, ack Ack) { _ = ack(tag) })
	})
	for range 12 {
		// (connected to the end: a freed closure's address could be
		// reused by the next one, which the tree would take for the same)
		c := fakeDial(t, srv)
		id := c.Connect("/", "")
		c.Send(`21["tag"]`)
		c.Expect(fmt.Sprintf(`31[%q]`, id[:4]))
		defer c.Close()
	}
	nsp := srv.Of("/")
	nsp.lists.mu.Lock()
	defer nsp.lists.mu.Unlock()
	if n := len(nsp.lists.root.node.children); n != 0 {
		t.Errorf("root has %d shared children for per-socket closures, want 0", n)
	}
}

// Off on one socket leaves the sockets it shared a list with untouched,
// and a socket that registers more after sharing gets its own list.
func TestListenersOffAndExtendAfterSharing(t *testing.T) {
	srv := newTestServer(t, Options{})
	nsp := srv.Of("/")
	socks := addFakeSockets(srv, nsp, 6)
	for _, s := range socks {
		s.On("ping", onPing)
		s.On("who", onWho)
	}
	a, b := socks[4], socks[5]
	if a.lst != b.lst || a.lst.node == nil {
		t.Fatal("sockets 5 and 6 do not share their list")
	}
	shared := a.lst
	a.Off("ping")
	if b.lst != shared || len(shared.events) != 2 {
		t.Fatalf("Off on one socket changed the shared list: %+v", shared.events)
	}
	if len(a.lst.events) != 1 || a.lst.events[0].event != "who" {
		t.Fatalf("after Off: %+v", a.lst.events)
	}
	b.On("extra", onWho)
	if len(shared.events) != 2 || len(b.lst.events) != 3 {
		t.Fatalf("extending a shared list changed it: shared %d, b %d", len(shared.events), len(b.lst.events))
	}
	// A registration seen once from a shared list is shared from the
	// second time on: b noted "extra", socket 4 gets the shared child.
	socks[3].On("extra", onWho)
	if socks[3].lst.node == nil || len(socks[3].lst.events) != 3 {
		t.Errorf("the second registration of extra is not shared: %+v", socks[3].lst)
	}
}

// The tree is bounded: registrations in ever new orders stop being shared
// past maxChildren per list.
func TestListenersBounded(t *testing.T) {
	srv := newTestServer(t, Options{})
	nsp := srv.Of("/")
	socks := addFakeSockets(srv, nsp, 2*(maxChildren+4))
	for i, s := range socks {
		// pairs of sockets register the same event, so each is seen twice
		s.On(fmt.Sprintf("e%d", i/2), onPing)
	}
	nsp.lists.mu.Lock()
	n := len(nsp.lists.root.node.children)
	nsp.lists.mu.Unlock()
	if n != maxChildren {
		t.Errorf("root has %d shared children, want the bound %d", n, maxChildren)
	}
	// Past the bound, sockets still work with lists of their own.
	last := socks[len(socks)-1]
	if last.lst.node != nil || len(last.lst.events) != 1 {
		t.Errorf("socket past the bound: %+v", last.lst)
	}
}

// The shared disconnect handlers run once per socket.
func TestListenersSharedDisconnect(t *testing.T) {
	srv := newTestServer(t, Options{})
	srv.OnConnection(func(s *Socket) { s.OnDisconnect(onGone) })
	before := disconnects.Load()
	for range 6 {
		c := fakeDial(t, srv)
		c.Connect("/", "")
		c.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for disconnects.Load()-before < 6 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := disconnects.Load() - before; n != 6 {
		t.Errorf("%d disconnect handler calls for 6 sockets", n)
	}
}

// Every connected socket costs its size: keep Socket in its size class.
func TestSocketSize(t *testing.T) {
	if got := unsafe.Sizeof(Socket{}); got > 144 {
		t.Errorf("Socket is %d bytes, want at most 144 (a Go size class; each byte costs 10 KB per 10,000 sockets)", got)
	}
}
