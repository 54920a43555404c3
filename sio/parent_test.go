package sio

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestDynamicNamespaces(t *testing.T) {
	srv := newTestServer(t, Options{})
	var mu sync.Mutex
	var names []string
	srv.OfFunc(func(name string, auth json.RawMessage) bool { return strings.HasPrefix(name, "/dyn-") }).
		OnConnection(func(s *Socket) {
			mu.Lock()
			names = append(names, s.Namespace().Name())
			mu.Unlock()
			_ = s.Emit("in", s.Namespace().Name())
		})
	c := fakeDial(t, srv)
	c.Connect("/dyn-1", "")
	c.Expect(`2/dyn-1,["in","/dyn-1"]`)
	c.Send(`0/other,`)
	c.Expect(`4/other,{"message":"Invalid namespace"}`)
}

// closeCounter is an in-memory adapter that counts its Close calls.
type closeCounter struct {
	*InMemoryAdapter
	closed *atomic.Int32
}

func (a closeCounter) Close() error { a.closed.Add(1); return a.InMemoryAdapter.Close() }

// CleanupEmptyChildNamespaces: a dynamic namespace is removed (its adapter
// closed, its name free) once its last socket left, or when the socket
// that created it is refused; without the option it stays.
func TestCleanupEmptyChildNamespaces(t *testing.T) {
	for _, cleanup := range []bool{true, false} {
		t.Run(fmt.Sprint("cleanup=", cleanup), func(t *testing.T) {
			var closed atomic.Int32
			srv := newTestServer(t, Options{
				CleanupEmptyChildNamespaces: cleanup,
				Adapter: func(n *Namespace) Adapter {
					return closeCounter{NewInMemoryAdapter(n), &closed}
				},
			})
			parent := srv.OfRegexp(regexp.MustCompile(`^/dyn-\d+$`))
			parent.Use(func(s *Socket) error {
				if strings.Contains(string(s.Handshake().Auth()), "refuse") {
					return errors.New("refused")
				}
				return nil
			})
			parent.OnConnection(func(s *Socket) { _ = s.Emit("in", s.Namespace().Name()) })
			c := fakeDial(t, srv)
			c.Connect("/dyn-1", "")
			c.Expect(`2/dyn-1,["in","/dyn-1"]`)
			first := srv.lookup([]byte("/dyn-1"))
			if first == nil || len(parent.Children()) != 1 {
				t.Fatal("the child was not created")
			}
			c.Send("1/dyn-1,")
			// (the adapter is closed last, after the namespace is gone)
			waitFor(t, func() bool { return first.SocketCount() == 0 && (!cleanup || closed.Load() == 1) })
			if got := srv.lookup([]byte("/dyn-1")) == nil; got != cleanup {
				t.Fatalf("removed after the last socket left: %v, want %v", got, cleanup)
			}
			if got := len(parent.Children()); (got == 0) != cleanup {
				t.Fatalf("children after the last socket left: %d", got)
			}
			if got := closed.Load() == 1; got != cleanup {
				t.Fatalf("adapter closed: %d times", closed.Load())
			}
			// connecting again: a new namespace when the old one was removed,
			// with the parent's middleware and handlers
			c.Connect("/dyn-1", "")
			c.Expect(`2/dyn-1,["in","/dyn-1"]`)
			if again := srv.lookup([]byte("/dyn-1")); (again != first) != cleanup || again == nil {
				t.Fatalf("namespace after reconnecting: new %v, want %v", again != first, cleanup)
			}
			// the socket that creates a namespace is refused
			c.Send(`0/dyn-2,{"refuse":true}`)
			c.Expect(`4/dyn-2,{"message":"refused"}`)
			if got := srv.lookup([]byte("/dyn-2")) == nil; got != cleanup {
				t.Fatalf("refused creator: namespace removed %v, want %v", got, cleanup)
			}
			// static namespaces are never removed
			static := srv.Of("/static")
			c.Connect("/static", "")
			c.Send("1/static,")
			waitFor(t, func() bool { return static.SocketCount() == 0 })
			if srv.lookup([]byte("/static")) != static {
				t.Fatal("a static namespace was removed")
			}
		})
	}
}

// A socket in the middleware of a dynamic namespace that is removed
// meanwhile (its last socket left) connects to the namespace created
// anew.
func TestCleanupWhileInMiddleware(t *testing.T) {
	srv := newTestServer(t, Options{CleanupEmptyChildNamespaces: true})
	parent := srv.OfFunc(func(name string, _ json.RawMessage) bool { return name == "/dyn" })
	release := make(chan struct{})
	entered := make(chan *Namespace, 4)
	parent.Use(func(s *Socket) error {
		if strings.Contains(string(s.Handshake().Auth()), "wait") {
			entered <- s.Namespace()
			<-release
		}
		return nil
	})
	parent.OnConnection(func(s *Socket) { _ = s.Emit("in", s.ID()) })
	a := fakeDial(t, srv)
	a.Connect("/dyn", "")
	a.ExpectPrefix(`2/dyn,["in"`)
	old := srv.lookup([]byte("/dyn"))

	b := fakeDial(t, srv)
	b.Send(`0/dyn,{"wait":true}`)
	if n := <-entered; n != old {
		t.Fatal("b's middleware runs in another namespace")
	}
	a.Send("1/dyn,")
	waitFor(t, func() bool { return srv.lookup([]byte("/dyn")) == nil })
	close(release) // b's middleware ends; its namespace is gone
	select {
	case n := <-entered:
		if n == old {
			t.Fatal("b went through the removed namespace's middleware again")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("b did not go through the new namespace's middleware")
	}
	reply := b.ExpectPrefix(`0/dyn,{"sid":"`)
	sid, _, _ := strings.Cut(reply[len(`0/dyn,{"sid":"`):], `"`)
	b.Expect(`2/dyn,["in","` + sid + `"]`)
	now := srv.lookup([]byte("/dyn"))
	if now == nil || now == old || now.Socket(sid) == nil {
		t.Fatalf("b's socket is not in the live namespace (%p, old %p)", now, old)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
		time.Sleep(time.Millisecond)
	}
}
