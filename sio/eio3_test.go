package sio

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/fanio/fanio/internal/siotest"
)

// fakeDialV3 connects a client over a fake Engine.IO v3 session (a
// socket.io-client 2.x as sio sees it) and returns it with the session's
// engine id.
func fakeDialV3(t testing.TB, srv *Server) (*siotest.Client, string) {
	f := &fakeSession{id: newID(), eio3: true}
	var c *client
	peer := siotest.NewClient(t, func(data []byte, binary bool) error {
		if !f.closed.Load() {
			c.OnMessage(nil, data, binary)
		}
		return nil
	}, func() error {
		f.end(ReasonTransportClose)
		return nil
	})
	f.peer = peer
	c = srv.newClient(f)
	f.c.Store(c)
	return peer, f.id
}

// A v3 connection joins "/" without asking, through "/"'s middleware; the
// CONNECT answers carry no payload; ids are the engine id and
// "<nsp>#<engine id>"; the query of a namespace is the auth.
func TestV3ConnectPath(t *testing.T) {
	srv := newTestServer(t, Options{})
	type seen struct {
		id, nsp, auth string
		proto         int
	}
	conns := make(chan seen, 8)
	var mwRuns int
	srv.Use(func(s *Socket) error {
		mwRuns++
		return nil
	})
	record := func(s *Socket) {
		conns <- seen{s.ID(), s.Namespace().Name(), string(s.Handshake().Auth()), s.EngineProtocol()}
		s.On("ping", func(s *Socket, args Args, ack Ack) { _ = ack("pong:" + s.ID()) })
	}
	srv.OnConnection(record)
	srv.Of("/admin").OnConnection(record)

	cl, eid := fakeDialV3(t, srv)
	cl.Expect("0")
	if got := <-conns; got != (seen{eid, "/", "{}", 3}) {
		t.Fatalf("implicit connection %+v (engine id %s)", got, eid)
	}
	if mwRuns != 1 {
		t.Fatalf("middleware of / ran %d times", mwRuns)
	}
	cl.Send("0/admin?token=abc&lang=en&n=1+2,")
	cl.Expect("0/admin,")
	if got := <-conns; got != (seen{"/admin#" + eid, "/admin", `{"token":"abc","lang":"en","n":"1 2"}`, 3}) {
		t.Fatalf("/admin connection %+v", got)
	}
	// events and acks as in v5
	cl.Send(`2/admin,7["ping"]`)
	cl.Expect(`3/admin,7["pong:/admin#` + eid + `"]`)
	cl.Send(`21["ping"]`)
	cl.Expect(`31["pong:` + eid + `"]`)
	// a packet whose namespace carries a query goes to the namespace
	cl.Send(`2/admin?x=1,8["ping"]`)
	cl.Expect(`3/admin,8["pong:/admin#` + eid + `"]`)
	// an unknown namespace: the reference's object, even to v3 clients
	cl.Send("0/nope,")
	cl.Expect(`4/nope,{"message":"Invalid namespace"}`)
	// a second CONNECT for "/" closes the connection, as in the reference
	cl.Send("0")
	cl.WaitClosed()
}

// Refusals reach a v3 client as a plain JSON value: the ConnectError's data,
// or its message when the data is missing or falsy for JavaScript.
func TestV3ConnectErrors(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{&ConnectError{Message: "not authorized"}, `"not authorized"`},
		{&ConnectError{Message: "m", Data: map[string]any{"code": 7}}, `{"code":7}`},
		{&ConnectError{Message: "m", Data: "details"}, `"details"`},
		{&ConnectError{Message: "m", Data: ""}, `"m"`},
		{&ConnectError{Message: "m", Data: 0}, `"m"`},
		{&ConnectError{Message: "m", Data: false}, `"m"`},
		{errors.New("plain error"), `"plain error"`},
		{fmt.Errorf("wrapped: %w", &ConnectError{Message: "m", Data: []int{1}}), `[1]`},
	} {
		srv := newTestServer(t, Options{})
		srv.Of("/p").Use(func(*Socket) error { return c.err })
		cl, _ := fakeDialV3(t, srv)
		cl.Expect("0")
		cl.Send("0/p,")
		cl.Expect("4/p," + c.want)
		cl.Close()
	}
	// The "/" middleware refuses the implicit connection the same way; the
	// connection then ends at connectTimeout.
	srv := newTestServer(t, Options{ConnectTimeout: 200 * time.Millisecond})
	srv.Use(func(*Socket) error { return &ConnectError{Message: "no"} })
	cl, _ := fakeDialV3(t, srv)
	cl.Expect(`4"no"`)
	cl.WaitClosed()
}

// A broadcast reaches v3 and v4 sockets of one room; both read the same
// Socket.IO packet (only the Engine.IO framing differs, see engine).
func TestV3AndV4InOneRoom(t *testing.T) {
	srv := newTestServer(t, Options{})
	joined := make(chan struct{}, 2)
	srv.OnConnection(func(s *Socket) {
		s.Join("room")
		joined <- struct{}{}
	})
	v3, _ := fakeDialV3(t, srv)
	v3.Expect("0")
	v4 := fakeDial(t, srv)
	v4.Connect("/", "")
	<-joined
	<-joined
	if err := srv.To("room").Emit("news", "hi", []byte{1, 2}); err != nil {
		t.Fatal(err)
	}
	for _, cl := range []*siotest.Client{v3, v4} {
		cl.Expect(`51-["news","hi",{"_placeholder":true,"num":0}]`)
		cl.ExpectBinary([]byte{1, 2})
	}
}

// The namespace of a v3 packet as the reference reads it: the pathname of
// new URL(nsp, "https://socket.io") and its query parameters. The expected
// values were printed by Node.js 20 (URL and URLSearchParams).
func TestV3Namespace(t *testing.T) {
	for _, c := range []struct{ in, nsp, auth string }{
		{"/", "/", ""},
		{"/admin", "/admin", ""},
		{"/admin?token=abc&lang=en", "/admin", `{"token":"abc","lang":"en"}`},
		{"/admin?", "/admin", "{}"},
		{"/a b", "/a%20b", "{}"},
		{"/a^b", "/a^b", ""},
		{"/a`b{c}", "/a%60b%7Bc%7D", "{}"},
		{"/é", "/%C3%A9", "{}"},
		{"/a/./b", "/a/b", "{}"},
		{"/a/../b", "/b", "{}"},
		{"/a/b/..", "/a/", "{}"},
		{"/a/.", "/a/", "{}"},
		{"/..", "/", "{}"},
		{"/a%2eb", "/a%2eb", ""},
		{"/a/%2e%2E/b", "/b", "{}"},
		{`/a\b`, "/a/b", "{}"},
		{"/a#frag?x=1", "/a", "{}"},
		{"/a?x=1#f", "/a", `{"x":"1"}`},
		{"/a\tb\n", "/ab", "{}"},
		{" /a ", "/a", "{}"},
		{`/a"<>`, "/a%22%3C%3E", "{}"},
		{"//host/x", "/x", "{}"},
		{"//host", "/", "{}"},
		{"/a?x=1&x=2&y", "/a", `{"x":"2","y":""}`},
		{"/a?b=1&1=2&a=3&0=z&01=q", "/a", `{"0":"z","1":"2","b":"1","a":"3","01":"q"}`},
		{"/a?k=%zz&p=a+b%20c&e=%C3%A9", "/a", `{"k":"%zz","p":"a b c","e":"é"}`},
		{"/a?=v&&k", "/a", `{"":"v","k":""}`},
		{"/a|b;c:d@e!$&'()*+=", "/a|b;c:d@e!$&'()*+=", ""},
		{"/%41", "/%41", "{}"},
		{"/ä?x", "/%C3%A4", `{"x":""}`},
	} {
		nsp, auth := v3Namespace([]byte(c.in))
		if string(nsp) != c.nsp || string(auth) != c.auth {
			t.Errorf("v3Namespace(%q) = %q, %s; want %q, %s", c.in, nsp, auth, c.nsp, c.auth)
		}
		if len(auth) > 0 && !json.Valid(auth) {
			t.Errorf("v3Namespace(%q): auth %s is not JSON", c.in, auth)
		}
	}
}

func FuzzV3Namespace(f *testing.F) {
	for _, s := range []string{"/", "/admin?token=abc", "/a/../b?x=%41", "//h", "/a\\.\\..", "/%2e%2E?0=1&1=2&01=3"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) == 0 || raw[0] != '/' {
			return // codec.DecodeSIOPacket gives namespaces starting with '/'
		}
		nsp, auth := v3Namespace(raw)
		if len(nsp) == 0 || nsp[0] != '/' {
			t.Fatalf("%q: namespace %q", raw, nsp)
		}
		if auth != nil && !json.Valid(auth) {
			t.Fatalf("%q: auth %s", raw, auth)
		}
		// The path is a fixed point: reading it again changes nothing
		// (but for one starting with "//", which reads as a host, in
		// JavaScript too).
		if len(nsp) > 1 && nsp[1] == '/' {
			return
		}
		again, _ := v3Namespace(nsp)
		if string(again) != string(nsp) {
			t.Fatalf("%q: %q, then %q", raw, nsp, again)
		}
	})
}
