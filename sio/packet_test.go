package sio

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
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
		p, err := parseInbound(nil, []byte(c.in), 10, intern)
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
		if _, err := parseInbound(nil, []byte(in), 10, intern); err == nil {
			t.Errorf("%q: accepted", in)
		} else if pe := (*ProtocolError)(nil); !errors.As(err, &pe) {
			t.Errorf("%q: error %v is not a *ProtocolError", in, err)
		}
	}
}

func TestEncodeArgs(t *testing.T) {
	type S struct {
		A string `json:"a"`
		B []int  `json:"b,omitempty"`
	}
	cases := []struct {
		args []any
		want string
		atts int
	}{
		{[]any{"<&>", 1, -2.5, true, nil}, `["ev","<&>",1,-2.5,true,null]`, 0},
		{[]any{[]byte{1}, map[string]any{"z": 1, "a": []byte{2}}}, `["ev",{"_placeholder":true,"num":0},{"a":{"_placeholder":true,"num":1},"z":1}]`, 2},
		{[]any{json.RawMessage(` {"x" : 1} `)}, `["ev",{"x" : 1}]`, 0},
		{[]any{S{A: "<b>"}}, `["ev",{"a":"<b>"}]`, 0},
		{[]any{math.NaN(), math.Inf(1), 1e21, 0.1, int64(1) << 60}, `["ev",null,null,1e+21,0.1,1152921504606846976]`, 0},
		{[]any{[]string{"a"}, map[string]string{"k": "v"}, []any{1, "x"}}, `["ev",["a"],{"k":"v"},[1,"x"]]`, 0},
		{[]any{1e-7, -2.5e-10, float32(0.5)}, `["ev",1e-7,-2.5e-10,0.5]`, 0},
		{[]any{Value{raw: []byte(`{"_placeholder":true,"num":1}`), attachments: [][]byte{{9}, {8}}}}, `["ev",{"_placeholder":true,"num":0}]`, 1},
	}
	for _, c := range cases {
		p, err := buildPacket(codec.SIOEvent, "/", "ev", c.args)
		if err != nil {
			t.Errorf("%v: %v", c.args, err)
			continue
		}
		if string(p.Data) != c.want || len(p.Attachments) != c.atts {
			t.Errorf("%v: got %s with %d attachments, want %s with %d", c.args, p.Data, len(p.Attachments), c.want, c.atts)
		}
	}
	if _, err := buildPacket(codec.SIOEvent, "/", "ev", []any{json.RawMessage(`{`)}); err == nil {
		t.Error("invalid RawMessage accepted")
	}
	if _, err := buildPacket(codec.SIOEvent, "/", "ev", []any{func() {}}); err == nil {
		t.Error("a func accepted")
	}
	// header and binary form
	p, _ := buildPacket(codec.SIOEvent, "/chat", "ev", []any{[]byte("x")})
	p.ID = 7
	msgs := p.Encode()
	if string(msgs[0].Data) != `51-/chat,7["ev",{"_placeholder":true,"num":0}]` || len(msgs) != 2 || !msgs[1].Binary {
		t.Fatalf("Encode = %q (%d messages)", msgs[0].Data, len(msgs))
	}
	// offsets for recovery
	q := p.withOffset("o1")
	if string(q.Data) != `["ev",{"_placeholder":true,"num":0},"o1"]` {
		t.Fatalf("withOffset: %s", q.Data)
	}
}

func TestRecoveryStore(t *testing.T) {
	var gen offsetGen
	gen.init()
	r := newRecoveryStore(time.Minute, &gen)
	pkt := func(n string) *Packet {
		p, _ := buildPacket(codec.SIOEvent, "/", "m", []any{n})
		return p
	}
	first := r.record(pkt("1"), &BroadcastOptions{})
	offset := string(first.Data[len(`["m","1","`) : len(first.Data)-2])
	r.record(pkt("2"), &BroadcastOptions{Rooms: []Room{"a"}})
	r.record(pkt("3"), &BroadcastOptions{Rooms: []Room{"b"}})
	r.record(pkt("4"), &BroadcastOptions{Except: []Room{"a"}})
	r.record(pkt("5"), &BroadcastOptions{})
	now := time.Now()
	r.persist(&PersistedSession{SID: "s", PID: "p", Rooms: []Room{"s", "a"}, DisconnectedAt: now})
	if got := r.restore("nope", offset, now); got != nil {
		t.Fatal("unknown pid restored")
	}
	got := r.restore("p", offset, now)
	if got == nil {
		t.Fatal("not restored")
	}
	var names []string
	for _, p := range got.MissedPackets {
		names = append(names, string(p.Data[len(`["m","`):len(`["m","`)+1]))
	}
	if want := "2,5"; join(names) != want {
		t.Fatalf("missed %v, want %s", names, want)
	}
	if r.restore("p", offset, now) != nil {
		t.Fatal("a session restored twice")
	}
	// expired session, unknown offset
	r.persist(&PersistedSession{SID: "s", PID: "old", DisconnectedAt: now.Add(-2 * time.Minute)})
	if r.restore("old", offset, now) != nil {
		t.Fatal("expired session restored")
	}
	r.persist(&PersistedSession{SID: "s", PID: "q", DisconnectedAt: now})
	if r.restore("q", gen.prefix+"zzzz", now) != nil {
		t.Fatal("unknown offset restored")
	}
}

func join(s []string) string {
	var b bytes.Buffer
	for i, x := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(x)
	}
	return b.String()
}

// A client that sends faster than its handler runs is disconnected.
func TestInboundOverflow(t *testing.T) {
	srv := startServer(t, Options{MaxQueuedPackets: 8})
	release := make(chan struct{})
	errs := make(chan error, 4)
	reasons := make(chan DisconnectReason, 1)
	srv.OnConnection(func(s *Socket) {
		s.OnError(func(s *Socket, err error) { errs <- err })
		s.OnDisconnect(func(s *Socket, r DisconnectReason) { reasons <- r })
		s.On("slow", func(s *Socket, _ Args, _ Ack) { <-release })
	})
	c := dialWS(t, srv)
	c.connect("/", "")
	for i := 0; i < 50; i++ {
		c.send(`2["slow"]`)
	}
	c.waitClosed()
	close(release)
	if err := <-errs; !errors.Is(err, ErrInboundOverflow) {
		t.Fatalf("error %v, want ErrInboundOverflow", err)
	}
	if r := <-reasons; r != ReasonForcedClose {
		t.Fatalf("reason %q", r)
	}
}

func TestConnectTimeoutClosesIdleConnections(t *testing.T) {
	srv := startServer(t, Options{ConnectTimeout: 200 * time.Millisecond})
	c := dialWS(t, srv)
	start := time.Now()
	c.waitClosed()
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("closed after %v, before the connect timeout", d)
	}
	// a connection that joined a namespace stays
	c2 := dialWS(t, srv)
	c2.connect("/", "")
	c2.expectNothing(400 * time.Millisecond)
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
			fuzzSrv.srv = NewServer(Options{Workers: 2})
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
		c := srv.newClient(&fakeSession{id: "fuzz"})
		defer c.stopConnectTimer()
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
		c.OnClose(nil, ReasonTransportClose)
	})
}
