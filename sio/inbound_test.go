package sio

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/pool"
)

func TestParseInbound(t *testing.T) {
	intern := func(b []byte) string { return string(b) }
	ok := []struct {
		in    string
		typ   codec.SIOType
		nsp   string
		id    int64
		event string
		nargs int
		natt  int
	}{
		{`0`, codec.SIOConnect, "/", -1, "", 0, 0},
		{`0/a,{"x":1}`, codec.SIOConnect, "/a", -1, "", 0, 0},
		{`1`, codec.SIODisconnect, "/", -1, "", 0, 0},
		{`1/a,`, codec.SIODisconnect, "/a", -1, "", 0, 0},
		{`2["ev"]`, codec.SIOEvent, "/", -1, "ev", 0, 0},
		{`2/a,12["ev",1,"x"]`, codec.SIOEvent, "/a", 12, "ev", 2, 0},
		{`2[1,2]`, codec.SIOEvent, "/", -1, "1", 1, 0},                  // a number is a name too
		{`2["\u0063onnect"]`, codec.SIOEvent, "/", -1, "connect", 0, 0}, // escaped: not the reserved name as written... see below
		{`3/a,5[]`, codec.SIOAck, "/a", 5, "", 0, 0},
		{`31["a",{"b":[]}]`, codec.SIOAck, "/", 1, "", 2, 0},
		{`52-["ev",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, codec.SIOBinaryEvent, "/", -1, "ev", 2, 2},
		{`61-/a,3[{"_placeholder":true,"num":0}]`, codec.SIOBinaryAck, "/a", 3, "", 1, 1},
		{`4{"message":"x"}`, codec.SIOConnectError, "/", -1, "", 0, 0},
		{`2`, codec.SIOEvent, "/", -1, "", 0, 0}, // no data: ignored, as the reference
	}
	for _, c := range ok {
		p, err := parseInbound(nil, []byte(c.in), 10, 10_000, intern)
		if c.in == `2["\u0063onnect"]` {
			// The reference compares the decoded name: this is "connect".
			if err == nil {
				t.Errorf("%s: accepted an escaped reserved name", c.in)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if p.typ != c.typ || p.nsp != c.nsp || p.ackID != c.id || p.eventName() != c.event || len(p.elems) != c.nargs || p.wantAttachments != c.natt {
			t.Errorf("%s: got type %v nsp %q id %d event %q args %d atts %d", c.in, p.typ, p.nsp, p.ackID, p.eventName(), len(p.elems), p.wantAttachments)
		}
	}
	bad := []string{
		``, `7`, `x`, `2{}`, `2[]`, `2[null]`, `2[{"a":1}]`, `2["ev"`, `2["ev"]x`, `2["disconnecting"]`,
		`2["newListener"]`, `0"x"`, `0[]`, `1{}`, `1"x"`, `3{}`, `4[1]`, `5-["ev"]`, `50-["ev"]`,
		`511-["ev"]`, `51-["ev",{"_placeholder":true,"num":1}]`, `51-["ev",{"a":{"_placeholder":true,"num":5}}]`,
		`21234567890123456["ev"]`,
	}
	for _, in := range bad {
		if _, err := parseInbound(nil, []byte(in), 10, 10_000, intern); err == nil {
			t.Errorf("%q: accepted", in)
		} else if pe := (*ProtocolError)(nil); !errors.As(err, &pe) {
			t.Errorf("%q: error %v is not a *ProtocolError", in, err)
		}
	}
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
			srv := newTestServer(t, Options{})
			reasons := make(chan DisconnectReason, 2)
			errs := make(chan error, 2)
			srv.OnConnection(func(s *Socket) {
				s.OnError(func(s *Socket, err error) { errs <- err })
				s.OnDisconnect(func(s *Socket, reason DisconnectReason) { reasons <- reason })
			})
			c := fakeDial(t, srv)
			if pkt[0] == '0' {
				c.Send(pkt)
				c.WaitClosed()
				return
			}
			c.Connect("/", "")
			c.Send(pkt)
			c.WaitClosed()
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
	srv := newTestServer(t, Options{})
	reasons := make(chan DisconnectReason, 1)
	srv.OnConnection(func(s *Socket) { s.OnDisconnect(func(s *Socket, r DisconnectReason) { reasons <- r }) })
	c := fakeDial(t, srv)
	c.Connect("/", "")
	c.Send(`2/nope,["ev"]`)
	c.WaitClosed()
	if r := <-reasons; r != ReasonForcedClose {
		t.Fatalf("reason %q, want %q", r, ReasonForcedClose)
	}
}

var fuzzSrv struct {
	once sync.Once
	srv  *Server
}

// FuzzInbound drives the whole inbound path with arbitrary messages: the
// first is a text message, the rest (split at 0xff 0x00) binary ones.
// Decoding, validation, attachment reassembly, the packet's handling on
// the worker (connect, events, acks, handlers decoding their arguments)
// must never panic, and what is accepted must re-encode to valid JSON.
func FuzzInbound(f *testing.F) {
	seeds := []string{
		`0`, `0{"a":1}`, `2["ev",1]`, `21["ev",{"a":[1,2]}]`, `3/a,1[]`, `1`,
		"51-[\"ev\",{\"_placeholder\":true,\"num\":0}]\xff\x00\x01\x02",
		"62-1[{\"_placeholder\":true,\"num\":1},{\"x\":{\"_placeholder\":true,\"num\":0}}]\xff\x00a\xff\x00b",
		`2["connect"]`, `2[]`, `0/x,`, `4{"message":"m"}`, `8`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzSrv.once.Do(func() {
			fuzzSrv.srv = NewServer(Options{MaxWorkers: 2})
			fuzzSrv.srv.OnConnection(func(s *Socket) {
				s.OnAny(func(s *Socket, event string, args []any) {})
				s.On("ev", func(s *Socket, args Args, ack Ack) {
					for i, v := range args {
						_, _ = Arg[string](args, i)
						_, _ = Arg[float64](args, i)
						var x any
						_ = v.Decode(&x)
					}
					if p, err := buildPacket(codec.SIOEvent, "/", "e", args.Any()); err == nil && !codec.ValidJSON(p.Data) {
						t.Errorf("re-encoded arguments are not JSON: %s", p.Data)
					}
					if ack != nil {
						_ = ack(args.Any()...)
					}
				})
			})
		})
		srv := fuzzSrv.srv
		sess := &fakeSession{id: "fuzz"}
		c := srv.newClient(sess)
		sess.c.Store(c)
		parts := bytes.Split(data, []byte{0xff, 0x00})
		c.OnMessage(nil, []byte("0"), false) // join "/" first
		c.OnMessage(nil, parts[0], false)
		for _, b := range parts[1:] {
			c.OnMessage(nil, b, true)
		}
		done := make(chan struct{})
		if err := c.mb.ForceSubmit(pool.TaskFunc(func() { close(done) })); err == nil {
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the mailbox did not drain")
			}
		}
		sess.end(ReasonTransportClose)
	})
}

// BenchmarkParseInbound measures decoding, validating and copying one
// inbound EVENT (what the event loop does per packet).
func BenchmarkParseInbound(b *testing.B) {
	data := []byte(`2["ev",{"a":1,"b":[1,2,3]},"x",42]`)
	intern := func([]byte) string { return "/" }
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		p, err := parseInbound(nil, data, 10, 10_000, intern)
		if err != nil {
			b.Fatal(err)
		}
		p.release() // as the mailbox does once the packet ran

	}
}
