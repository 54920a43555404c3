package sio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// events and acks: the client's JSON comes back byte for byte, binary
// attachments are reassembled and sent back as attachments.
func TestEventEchoAndAck(t *testing.T) {
	srv := startServer(t, Options{})
	srv.OnConnection(func(s *Socket) {
		s.On("echo", func(s *Socket, args Args, ack Ack) {
			_ = s.Emit("echo-back", args.Any()...)
			if ack != nil {
				_ = ack(args.Any()...)
			}
		})
	})
	c := dialWS(t, srv)
	c.connect("/", "")

	// odd but valid JSON formatting is kept as sent
	c.send(`2["echo",{"b":1, "a":"<&>"},[1,2.50,  3],"é\u00e9",null,true]`)
	c.expect(`2["echo-back",{"b":1, "a":"<&>"},[1,2.50,  3],"é\u00e9",null,true]`)

	// with an ack id
	c.send(`217["echo","x"]`)
	c.expect(`2["echo-back","x"]`)
	c.expect(`317["x"]`)

	// binary: two attachments, one nested in an object
	c.send(`52-21["echo",{"_placeholder":true,"num":1},{"k":{"_placeholder":true,"num":0}}]`)
	c.sendBin([]byte{1, 2, 3})
	c.sendBin([]byte{4, 5})
	c.expect(`52-["echo-back",{"_placeholder":true,"num":0},{"k":{"_placeholder":true,"num":1}}]`)
	if m := c.next(); !bytes.Equal(m.bin, []byte{4, 5}) {
		t.Fatalf("attachment 0 = %v, want [4 5]", m.bin)
	}
	if m := c.next(); !bytes.Equal(m.bin, []byte{1, 2, 3}) {
		t.Fatalf("attachment 1 = %v, want [1 2 3]", m.bin)
	}
	c.expect(`62-21[{"_placeholder":true,"num":0},{"k":{"_placeholder":true,"num":1}}]`)
	c.next()
	c.next()
}

func TestTypedArgs(t *testing.T) {
	type payload struct {
		Name string `json:"name"`
		Blob []byte `json:"blob"`
	}
	got := make(chan string, 4)
	srv := startServer(t, Options{})
	srv.OnConnection(func(s *Socket) {
		s.On("typed", func(s *Socket, args Args, ack Ack) {
			str, err1 := Arg[string](args, 0)
			n, err2 := Arg[int](args, 1)
			bin, err3 := Arg[[]byte](args, 2)
			p, err4 := Arg[payload](args, 3)
			_, err5 := Arg[int](args, 0)
			_, err6 := Arg[string](args, 9)
			got <- strings.Join([]string{str, string(rune('0' + n)), string(bin), p.Name, string(p.Blob)}, "|")
			if err := errors.Join(err1, err2, err3, err4); err != nil {
				got <- "error: " + err.Error()
			}
			if err5 == nil || !errors.Is(err6, ErrArgIndex) {
				got <- "error: expected type and index errors"
			}
			close(got)
		})
	})
	c := dialWS(t, srv)
	c.connect("/", "")
	c.send(`52-["typed","a\nb",7,{"_placeholder":true,"num":0},{"name":"<n>","blob":{"_placeholder":true,"num":1}}]`)
	c.sendBin([]byte("BIN"))
	c.sendBin([]byte("blob"))
	var all []string
	for s := range got {
		all = append(all, s)
	}
	if want := "a\nb|7|BIN|<n>|blob"; len(all) != 1 || all[0] != want {
		t.Fatalf("handler saw %q, want [%q]", all, want)
	}
}

// auth payload, middleware refusing with data, namespaces.
func TestConnectMiddlewareAndNamespaces(t *testing.T) {
	srv := startServer(t, Options{})
	srv.Use(func(s *Socket) error {
		if !strings.Contains(string(s.Handshake().Auth), `"token":"ok"`) {
			return &ConnectError{Message: "unauthorized", Data: map[string]any{"code": 401}}
		}
		return nil
	})
	srv.OnConnection(func(s *Socket) { _ = s.Emit("auth", s.Handshake().Auth) })
	srv.Of("custom").OnConnection(func(s *Socket) { _ = s.Emit("hello", s.Namespace().Name()) })
	srv.Of("/plain").Use(func(s *Socket) error { return errors.New("nope") })

	c := dialWS(t, srv)
	c.send(`0{"token":"bad"}`)
	c.expect(`4{"message":"unauthorized","data":{"code":401}}`)
	c.send(`0/plain,`)
	c.expect(`4/plain,{"message":"nope"}`)
	c.send(`0/unknown,`)
	c.expect(`4/unknown,{"message":"Invalid namespace"}`)
	c.connect("/", `{"token":"ok", "x":[1]}`)
	c.expect(`2["auth",{"token":"ok", "x":[1]}]`)
	c.connect("/custom", "")
	c.expect(`2/custom,["hello","/custom"]`)
}

func TestDynamicNamespaces(t *testing.T) {
	srv := startServer(t, Options{})
	var mu sync.Mutex
	var names []string
	srv.OfFunc(func(name string, auth json.RawMessage) bool { return strings.HasPrefix(name, "/dyn-") }).
		OnConnection(func(s *Socket) {
			mu.Lock()
			names = append(names, s.Namespace().Name())
			mu.Unlock()
			_ = s.Emit("in", s.Namespace().Name())
		})
	c := dialWS(t, srv)
	c.connect("/dyn-1", "")
	c.expect(`2/dyn-1,["in","/dyn-1"]`)
	c.send(`0/other,`)
	c.expect(`4/other,{"message":"Invalid namespace"}`)
}

// invalid packets close the connection; the error handler sees why and
// the socket disconnects with "forced close", as with the reference.
func TestInvalidPacketsClose(t *testing.T) {
	cases := []string{
		`2["connect"]`, // reserved event name
		`2{"a":1}`,     // not an array
		`2[]`,          // no event name
		`2[{"a":1}]`,   // name not a string
		`2["ev",`,      // bad JSON
		`8`,            // unknown type
		`20-["ev"]`,    // bad ack id... (namespace "0-"? no: '0' is ack id) then bad data
		`50-["ev"]`,    // zero attachments
		`51-["ev",{"_placeholder":true,"num":1}]`, // placeholder out of range
		`1{}`,  // DISCONNECT with data
		`0[1]`, // CONNECT payload not an object
	}
	for _, pkt := range cases {
		t.Run(pkt, func(t *testing.T) {
			srv := startServer(t, Options{})
			reasons := make(chan DisconnectReason, 2)
			errs := make(chan error, 2)
			srv.OnConnection(func(s *Socket) {
				s.OnError(func(s *Socket, err error) { errs <- err })
				s.OnDisconnect(func(s *Socket, reason DisconnectReason) { reasons <- reason })
			})
			c := dialWS(t, srv)
			if pkt[0] == '0' {
				c.send(pkt)
				c.waitClosed()
				return
			}
			c.connect("/", "")
			c.send(pkt)
			c.waitClosed()
			select {
			case r := <-reasons:
				if r != ReasonForcedClose {
					t.Fatalf("disconnect reason %q, want %q", r, ReasonForcedClose)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no disconnect")
			}
			select {
			case err := <-errs:
				var pe *ProtocolError
				if !errors.As(err, &pe) {
					t.Fatalf("error handler got %v, want a *ProtocolError", err)
				}
			default:
				t.Fatal("the error handler was not called")
			}
		})
	}
}

// the client emits to a namespace it did not join: "forced close".
func TestEventOnUnjoinedNamespace(t *testing.T) {
	srv := startServer(t, Options{})
	reasons := make(chan DisconnectReason, 1)
	srv.OnConnection(func(s *Socket) { s.OnDisconnect(func(s *Socket, r DisconnectReason) { reasons <- r }) })
	c := dialWS(t, srv)
	c.connect("/", "")
	c.send(`2/nope,["ev"]`)
	c.waitClosed()
	if r := <-reasons; r != ReasonForcedClose {
		t.Fatalf("reason %q, want %q", r, ReasonForcedClose)
	}
}

func TestDisconnectReasons(t *testing.T) {
	srv := startServer(t, Options{})
	reasons := make(chan DisconnectReason, 4)
	disconnecting := make(chan []Room, 4)
	srv.OnConnection(func(s *Socket) {
		s.Join("r1")
		s.OnDisconnecting(func(s *Socket, r DisconnectReason) { disconnecting <- s.Rooms() })
		s.OnDisconnect(func(s *Socket, r DisconnectReason) { reasons <- r })
		s.On("kick", func(s *Socket, _ Args, _ Ack) { s.Disconnect(false) })
		s.On("close", func(s *Socket, _ Args, _ Ack) { s.Disconnect(true) })
	})
	expectReason := func(want DisconnectReason) {
		t.Helper()
		select {
		case r := <-reasons:
			if r != want {
				t.Fatalf("reason %q, want %q", r, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no disconnect (want %q)", want)
		}
		if rooms := <-disconnecting; len(rooms) != 2 {
			t.Fatalf("rooms while disconnecting = %v, want the socket's id and r1", rooms)
		}
	}
	c := dialWS(t, srv)
	c.connect("/", "")
	c.send("1")
	expectReason(ReasonClientNamespaceDisconnect)
	c.connect("/", "")
	c.send(`2["kick"]`)
	c.expect("1")
	expectReason(ReasonServerNamespaceDisconnect)
	c.connect("/", "")
	c.send(`2["close"]`)
	c.expect("1")
	expectReason(ReasonServerNamespaceDisconnect)
	c.waitClosed()

	c2 := dialWS(t, srv)
	c2.connect("/", "")
	c2.conn.Close()
	expectReason(ReasonTransportClose)
}

func TestServerAcks(t *testing.T) {
	srv := startServer(t, Options{})
	results := make(chan string, 8)
	srv.OnConnection(func(s *Socket) {
		s.On("go", func(s *Socket, _ Args, _ Ack) {
			// blocking, from inside a handler of the same connection
			args, err := s.Timeout(2*time.Second).EmitWithAck(context.Background(), "q1", 1)
			results <- "blocking:" + args.String() + errString(err)
			_ = s.Timeout(2*time.Second).Emit("q2", AckFunc(func(args Args, err error) {
				results <- "callback:" + args.String() + errString(err)
			}))
			_ = s.Timeout(100*time.Millisecond).Emit("q3", AckFunc(func(args Args, err error) {
				results <- "timeout:" + errString(err)
			}))
		})
	})
	c := dialWS(t, srv)
	c.connect("/", "")
	c.send(`2["go"]`)
	q1 := c.expectPrefix(`2`)
	if !strings.HasSuffix(q1, `["q1",1]`) {
		t.Fatalf("q1 packet %q", q1)
	}
	c.send("3" + q1[1:strings.IndexByte(q1, '[')] + `["a1"]`)
	if r := <-results; r != `blocking:["a1"]` {
		t.Fatalf("got %q", r)
	}
	q2 := c.expectPrefix(`2`)
	c.expectPrefix(`2`) // q3, never answered
	c.send("3" + q2[1:strings.IndexByte(q2, '[')] + `["a2",{"x":1}]`)
	got := map[string]bool{}
	for i := 0; i < 2; i++ {
		select {
		case r := <-results:
			got[r] = true
		case <-time.After(5 * time.Second):
			t.Fatalf("results so far %v", got)
		}
	}
	for _, w := range []string{`callback:["a2",{"x":1}]`, "timeout: err=operation has timed out"} {
		if !got[w] {
			t.Errorf("missing %q in %v", w, got)
		}
	}
	// a late answer to the timed-out request is ignored
	c.send(`399["late"]`)
	c.send(`2["go"]`)
	c.expectPrefix(`2`)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return " err=" + err.Error()
}

func (a Args) String() string {
	parts := make([]string, len(a))
	for i, v := range a {
		parts[i] = v.String()
	}
	return "[" + strings.Join(parts, ",") + "]"
}
