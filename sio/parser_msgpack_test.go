package sio

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/msgpack"
	"github.com/fanio/fanio/internal/siotest"
)

// mpClient speaks the msgpack parser's packets over a siotest.Client: it
// writes packets given as JSON text (placeholders standing for the binary
// values given) and reads the server's as JSON text in the server's key
// order, binary values as "bin:<hex>".
type mpClient struct {
	*siotest.Client
	t testing.TB
}

func mpDial(t testing.TB, srv *Server) mpClient { return mpClient{fakeDial(t, srv), t} }

// mpEncode returns the packet jsonText as MessagePack.
func mpEncode(t testing.TB, jsonText string, bins ...[]byte) []byte {
	t.Helper()
	b, err := msgpack.AppendFromJSON(nil, []byte(jsonText), func(num int) ([]byte, bool) {
		if num < len(bins) {
			return bins[num], true
		}
		return nil, false
	})
	if err != nil {
		t.Fatalf("encoding %s: %v", jsonText, err)
	}
	return b
}

// mpDecode returns a server message as JSON text.
func mpDecode(t testing.TB, b []byte) string {
	t.Helper()
	r := msgpack.NewReader(b)
	out, err := r.AppendJSON(nil, func(dst, bin []byte) []byte {
		return append(append(append(dst, `"bin:`...), hex.EncodeToString(bin)...), '"')
	})
	if err != nil || r.Len() != 0 {
		t.Fatalf("server sent %x: not one MessagePack value (%v)", b, err)
	}
	return string(out)
}

func (c mpClient) send(jsonText string, bins ...[]byte) {
	c.t.Helper()
	c.SendBinary(mpEncode(c.t, jsonText, bins...))
}

func (c mpClient) next() string {
	c.t.Helper()
	m := c.Next()
	if !m.IsBinary() {
		c.t.Fatalf("server sent the text message %q to a msgpack client", m.Text)
	}
	return mpDecode(c.t, m.Binary)
}

func (c mpClient) expect(want string) {
	c.t.Helper()
	if got := c.next(); got != want {
		c.t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// connect joins nsp (auth: JSON or "" for none) and returns the socket id.
func (c mpClient) connect(nsp, auth string) string {
	c.t.Helper()
	if auth == "" {
		c.send(`{"type":0,"nsp":"` + nsp + `"}`)
	} else {
		c.send(`{"type":0,"nsp":"` + nsp + `","data":` + auth + `}`)
	}
	got := c.next()
	var p struct {
		Type int
		Nsp  string
		Data struct{ SID string }
	}
	if err := json.Unmarshal([]byte(got), &p); err != nil || p.Type != 0 || p.Nsp != nsp || p.Data.SID == "" {
		c.t.Fatalf("CONNECT answered with %s", got)
	}
	return p.Data.SID
}

func h2b(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The byte examples of socket.io-msgpack-parser 3.0.2 (as notepack writes
// them from socket.io-client 4.8 and the reference server), both ways.
func TestMsgpackWireBytes(t *testing.T) {
	srv := newTestServer(t, Options{Parser: MsgpackParser})
	srv.OnConnection(func(s *Socket) {
		s.On("hello", func(s *Socket, args Args, ack Ack) {
			_ = s.Emit("hello", args.Any()...)
		})
		s.On("up", func(s *Socket, args Args, ack Ack) {
			b, err := Arg[[]byte](args, 0)
			if err != nil || string(b) != "\x01\x02\x03" {
				t.Errorf("up: %v %v", b, err)
			}
			_ = ack("ok")
		})
	})
	c := mpDial(t, srv)
	// client CONNECT "/" without auth: {type:0, data:undefined, nsp:"/"}
	c.SendBinary(h2b(t, "83 a4 74 79 70 65 00 a4 64 61 74 61 d4 00 00 a3 6e 73 70 a1 2f"))
	m := c.Next()
	sid := ""
	if got := mpDecode(t, m.Binary); !strings.HasPrefix(got, `{"type":0,"data":{"sid":"`) || !strings.HasSuffix(got, `"},"nsp":"/"}`) {
		t.Fatalf("CONNECT reply %s", got)
	} else {
		sid = got[len(`{"type":0,"data":{"sid":"`) : len(got)-len(`"},"nsp":"/"}`)]
	}
	// the reply's bytes, as the reference writes them (without the
	// undefined pid)
	want := append(h2b(t, "83 a4 74 79 70 65 00 a4 64 61 74 61 81 a3 73 69 64 b4"), sid...)
	want = append(want, h2b(t, "a3 6e 73 70 a1 2f")...)
	if hex.EncodeToString(m.Binary) != hex.EncodeToString(want) {
		t.Fatalf("CONNECT reply bytes\n%x\nwant\n%x", m.Binary, want)
	}
	// client EVENT emit("hello","world") with the client's options key
	c.SendBinary(h2b(t, "84 a4 74 79 70 65 02 a4 64 61 74 61 92 a5 68 65 6c 6c 6f a5 77 6f 72 6c 64"+
		"a7 6f 70 74 69 6f 6e 73 81 a8 63 6f 6d 70 72 65 73 73 c3 a3 6e 73 70 a1 2f"))
	// server EVENT {type:2, data:["hello","world"], nsp:"/"}
	if m := c.Next(); hex.EncodeToString(m.Binary) != hex.EncodeToString(h2b(t, "83 a4 74 79 70 65 02 a4 64 61 74 61 92 a5 68 65 6c 6c 6f a5 77 6f 72 6c 64 a3 6e 73 70 a1 2f")) {
		t.Fatalf("EVENT bytes %x", m.Binary)
	}
	// client EVENT with ack id 1 and binary emit("up", Buffer<01 02 03>, cb)
	c.SendBinary(h2b(t, "85 a4 74 79 70 65 02 a4 64 61 74 61 92 a2 75 70 c4 03 01 02 03"+
		"a7 6f 70 74 69 6f 6e 73 81 a8 63 6f 6d 70 72 65 73 73 c3 a2 69 64 01 a3 6e 73 70 a1 2f"))
	// server ACK {id:1, type:3, data:["ok"], nsp:"/"}
	if m := c.Next(); hex.EncodeToString(m.Binary) != hex.EncodeToString(h2b(t, "84 a2 69 64 01 a4 74 79 70 65 03 a4 64 61 74 61 91 a2 6f 6b a3 6e 73 70 a1 2f")) {
		t.Fatalf("ACK bytes %x", m.Binary)
	}
}

// Events and acknowledgements both ways, binary values at any depth both
// ways, namespaces, disconnect.
func TestMsgpackEventsAcksBinary(t *testing.T) {
	srv := newTestServer(t, Options{Parser: MsgpackParser})
	answers := make(chan string, 4)
	srv.OnConnection(func(s *Socket) {
		s.On("echo", func(s *Socket, args Args, ack Ack) {
			_ = s.Emit("echo-back", args.Any()...)
			if ack != nil {
				_ = ack(args.Any()...)
			}
		})
		s.On("typed", func(s *Socket, args Args, ack Ack) {
			var v struct {
				Name string `json:"name"`
				File []byte `json:"file"`
				N    float64
			}
			err := args.Decode(0, &v)
			str, _ := Arg[string](args, 1)
			n, _ := Arg[int](args, 2)
			_ = ack(v.Name, v.File, v.N, str, n, errString(err))
		})
		s.On("ask", func(s *Socket, args Args, ack Ack) {
			res, err := s.Timeout(2*time.Second).EmitWithAck(context.Background(), "question", []byte{9}, map[string]any{"deep": []any{[]byte{8}}})
			answers <- res.String() + errString(err)
		})
		s.On("ask-cb", func(s *Socket, args Args, ack Ack) {
			_ = s.Emit("question", "cb", AckFunc(func(res Args, err error) { answers <- "cb " + res.String() + errString(err) }))
		})
	})
	srv.Of("/chat").OnConnection(func(s *Socket) { _ = s.Emit("welcome", s.Handshake().Auth()) })
	c := mpClient{fakeDial(t, srv), t}
	c.connect("/", "")

	c.send(`{"type":2,"nsp":"/","data":["echo","é<&>",1.5,-3,null,true,{"a":[1,{"_placeholder":true,"num":0}]},{"_placeholder":true,"num":1}],"options":{"compress":true},"id":7}`,
		[]byte{1, 2}, []byte{})
	c.expect(`{"type":2,"data":["echo-back","é<&>",1.5,-3,null,true,{"a":[1,"bin:0102"]},"bin:"],"nsp":"/"}`)
	c.expect(`{"id":7,"type":3,"data":["é<&>",1.5,-3,null,true,{"a":[1,"bin:0102"]},"bin:"],"nsp":"/"}`)

	// decoding: nested binary into []byte fields, numbers, strings
	c.send(`{"type":2,"nsp":"/","id":8,"data":["typed",{"name":"x","file":{"_placeholder":true,"num":0},"N":2.5},"s",42]}`, []byte("FILE"))
	c.expect(`{"id":8,"type":3,"data":["x","bin:46494c45",2.5,"s",42,""],"nsp":"/"}`)

	// the server asks, the client answers (with binary)
	c.send(`{"type":2,"nsp":"/","data":["ask"]}`)
	q := c.next()
	if !strings.HasPrefix(q, `{"type":2,"data":["question","bin:09",{"deep":["bin:08"]}],"id":`) {
		t.Fatalf("question %s", q)
	}
	id := q[strings.Index(q, `"id":`)+5 : strings.Index(q, `,"nsp"`)]
	c.send(`{"type":3,"nsp":"/","id":`+id+`,"data":["answer",{"_placeholder":true,"num":0}]}`, []byte{7})
	if got := <-answers; got != `["answer",<binary 1 bytes>]` {
		t.Fatalf("EmitWithAck got %s", got)
	}
	c.send(`{"type":2,"nsp":"/","data":["ask-cb"]}`)
	q = c.next()
	id = q[strings.Index(q, `"id":`)+5 : strings.Index(q, `,"nsp"`)]
	c.send(`{"type":3,"nsp":"/","id":` + id + `,"data":[]}`)
	if got := <-answers; got != `cb []` {
		t.Fatalf("AckFunc got %s", got)
	}

	// a namespace with auth, then the client leaves it
	c.connect("/chat", `{"token":"t","n":[1,2]}`)
	c.expect(`{"type":2,"data":["welcome",{"token":"t","n":[1,2]}],"nsp":"/chat"}`)
	c.send(`{"type":1,"nsp":"/chat"}`)
	c.send(`{"type":2,"nsp":"/","data":["echo",1]}`)
	c.expect(`{"type":2,"data":["echo-back",1],"nsp":"/"}`)
}

// A broadcast is encoded once, in the server's parser's form only; the
// same bytes go to every member.
func TestMsgpackBroadcastEncodedOnce(t *testing.T) {
	srv := newTestServer(t, Options{Parser: MsgpackParser})
	var clients []mpClient
	for range 3 {
		c := mpDial(t, srv)
		c.connect("/", "")
		clients = append(clients, c)
	}
	var built *Packet
	srv.Sockets().EachSocket(func(s *Socket) bool {
		s.OnAnyOutgoing(func(_ *Socket, _ string, args []any) {})
		return true
	})
	if err := srv.Emit("news", "hi", []byte{1}); err != nil {
		t.Fatal(err)
	}
	for _, c := range clients {
		c.expect(`{"type":2,"data":["news","hi","bin:01"],"nsp":"/"}`)
	}
	// the Packet a broadcast builds: prepared for msgpack only
	p, err := buildPacket(codec.SIOEvent, "/", "x", []any{1})
	if err != nil {
		t.Fatal(err)
	}
	built = p
	srv2 := newTestServer(t, Options{Parser: MsgpackParser})
	socks := addFakeSockets(srv2, srv2.Sockets(), 5)
	for _, s := range socks {
		s.Join("r")
	}
	if err := srv2.Sockets().adapter.Broadcast(built, &BroadcastOptions{Rooms: []Room{"r"}}); err != nil {
		t.Fatal(err)
	}
	// (broadcasts may be compressed: the compressed form's slot)
	if built.prep[1] == nil || built.prepSlot[1] != uint8(MsgpackParser.slot()) || built.prep[0] != nil {
		t.Fatalf("prepared forms: %v (parsers %v), want the msgpack one only", built.prep, built.prepSlot)
	}
}

// CONNECT_ERROR with data (binary data too, which the JSON parser cannot
// carry), unknown namespaces.
func TestMsgpackConnectErrors(t *testing.T) {
	srv := newTestServer(t, Options{Parser: MsgpackParser})
	srv.Use(func(s *Socket) error {
		var a struct{ Reject string }
		_ = json.Unmarshal(s.Handshake().Auth(), &a)
		switch a.Reject {
		case "data":
			return &ConnectError{Message: "rejected", Data: map[string]any{"reason": "because", "blob": []byte{5}}}
		case "plain":
			return errors.New("nope")
		}
		return nil
	})
	c := mpDial(t, srv)
	c.send(`{"type":0,"nsp":"/","data":{"Reject":"data"}}`)
	c.expect(`{"type":4,"data":{"message":"rejected","data":{"blob":"bin:05","reason":"because"}},"nsp":"/"}`)
	c.send(`{"type":0,"nsp":"/","data":{"Reject":"plain"}}`)
	c.expect(`{"type":4,"data":{"message":"nope"},"nsp":"/"}`)
	c.send(`{"type":0,"nsp":"/nope"}`)
	c.expect(`{"type":4,"data":{"message":"Invalid namespace"},"nsp":"/nope"}`)
	c.connect("/", `{"Reject":""}`)
}

// Connection state recovery over msgpack: the offset is the last argument
// of each broadcast, the missed ones are replayed in msgpack.
func TestMsgpackRecovery(t *testing.T) {
	srv := newTestServer(t, Options{Parser: MsgpackParser, ConnectionStateRecovery: &ConnectionStateRecovery{}})
	c := mpDial(t, srv)
	c.send(`{"type":0,"nsp":"/"}`)
	reply := c.next()
	var connect struct{ Data struct{ SID, PID string } }
	if err := json.Unmarshal([]byte(reply), &connect); err != nil || connect.Data.PID == "" {
		t.Fatalf("CONNECT reply without pid: %s", reply)
	}
	_ = srv.Emit("m", 1)
	got := c.next()
	var ev struct{ Data []any }
	if err := json.Unmarshal([]byte(got), &ev); err != nil || len(ev.Data) != 3 {
		t.Fatalf("broadcast %s", got)
	}
	offset := ev.Data[2].(string)
	c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for srv.Sockets().SocketCount() > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	_ = srv.Emit("m", 2, []byte{2})
	c2 := mpDial(t, srv)
	c2.send(`{"type":0,"nsp":"/","data":{"pid":"` + connect.Data.PID + `","offset":"` + offset + `"}}`)
	// The CONNECT answer comes first, then the missed packet (the
	// reference sends them the other way round; see restoreInto).
	reply = c2.next()
	if !strings.Contains(reply, `"sid":"`+connect.Data.SID+`"`) {
		t.Fatalf("recovered CONNECT %s, want sid %s", reply, connect.Data.SID)
	}
	missed := c2.next()
	if !strings.HasPrefix(missed, `{"type":2,"data":["m",2,"bin:02","`) {
		t.Fatalf("missed packet %s", missed)
	}
}

// What the reference's msgpack Decoder refuses (and sio's own checks)
// closes the connection; the error handlers get a *ProtocolError.
func TestMsgpackInvalidPacketsClose(t *testing.T) {
	cases := []struct {
		name string
		msg  func(t *testing.T) ([]byte, bool)
		want error
	}{
		{"text message", func(t *testing.T) ([]byte, bool) { return []byte(`2["x"]`), false }, ErrInvalidPacket},
		{"not msgpack", func(t *testing.T) ([]byte, bool) { return []byte{0xc1}, true }, ErrInvalidPacket},
		{"array", func(t *testing.T) ([]byte, bool) { return mpEncode(t, `[2,"/"]`), true }, ErrInvalidPacket},
		{"trailing", func(t *testing.T) ([]byte, bool) {
			return append(mpEncode(t, `{"type":2,"nsp":"/","data":["x"]}`), 0), true
		}, ErrInvalidPacket},
		{"truncated", func(t *testing.T) ([]byte, bool) {
			b := mpEncode(t, `{"type":2,"nsp":"/","data":["x"]}`)
			return b[:len(b)-2], true
		}, ErrInvalidPacket},
		{"no type", func(t *testing.T) ([]byte, bool) { return mpEncode(t, `{"nsp":"/","data":["x"]}`), true }, ErrInvalidPacket},
		{"type 5", func(t *testing.T) ([]byte, bool) { return mpEncode(t, `{"type":5,"nsp":"/","data":["x"]}`), true }, ErrInvalidPacket},
		{"type 2.5", func(t *testing.T) ([]byte, bool) { return mpEncode(t, `{"type":2.5,"nsp":"/","data":["x"]}`), true }, ErrInvalidPacket},
		{"type string", func(t *testing.T) ([]byte, bool) { return mpEncode(t, `{"type":"2","nsp":"/","data":["x"]}`), true }, ErrInvalidPacket},
		{"no nsp", func(t *testing.T) ([]byte, bool) { return mpEncode(t, `{"type":2,"data":["x"]}`), true }, ErrInvalidPacket},
		{"nsp number", func(t *testing.T) ([]byte, bool) { return mpEncode(t, `{"type":2,"nsp":1,"data":["x"]}`), true }, ErrInvalidPacket},
		{"id string", func(t *testing.T) ([]byte, bool) {
			return mpEncode(t, `{"type":2,"nsp":"/","id":"1","data":["x"]}`), true
		}, ErrInvalidPacket},
		{"id negative", func(t *testing.T) ([]byte, bool) {
			return mpEncode(t, `{"type":2,"nsp":"/","id":-1,"data":["x"]}`), true
		}, ErrInvalidPacket},
		{"id 1e15", func(t *testing.T) ([]byte, bool) {
			return mpEncode(t, `{"type":2,"nsp":"/","id":1000000000000000,"data":["x"]}`), true
		}, ErrInvalidPacket},
		{"event no data", func(t *testing.T) ([]byte, bool) { return mpEncode(t, `{"type":2,"nsp":"/"}`), true }, ErrInvalidPayload},
		{"event empty", func(t *testing.T) ([]byte, bool) { return mpEncode(t, `{"type":2,"nsp":"/","data":[]}`), true }, ErrInvalidPayload},
		{"event object", func(t *testing.T) ([]byte, bool) { return mpEncode(t, `{"type":2,"nsp":"/","data":{"a":1}}`), true }, ErrInvalidPayload},
		{"event name object", func(t *testing.T) ([]byte, bool) { return mpEncode(t, `{"type":2,"nsp":"/","data":[{}]}`), true }, ErrInvalidPayload},
		{"event name binary", func(t *testing.T) ([]byte, bool) {
			return mpEncode(t, `{"type":2,"nsp":"/","data":[{"_placeholder":true,"num":0}]}`, []byte("x")), true
		}, ErrInvalidPayload},
		{"reserved name", func(t *testing.T) ([]byte, bool) {
			return mpEncode(t, `{"type":2,"nsp":"/","data":["disconnect"]}`), true
		}, ErrInvalidPayload},
		{"ack object", func(t *testing.T) ([]byte, bool) { return mpEncode(t, `{"type":3,"nsp":"/","id":1,"data":"x"}`), true }, ErrInvalidPayload},
		{"disconnect data", func(t *testing.T) ([]byte, bool) { return mpEncode(t, `{"type":1,"nsp":"/","data":1}`), true }, ErrInvalidPayload},
		{"connect null", func(t *testing.T) ([]byte, bool) { return mpEncode(t, `{"type":0,"nsp":"/","data":null}`), true }, ErrInvalidPayload},
		{"connect array", func(t *testing.T) ([]byte, bool) { return mpEncode(t, `{"type":0,"nsp":"/","data":[1]}`), true }, ErrInvalidPayload},
		{"too deep", func(t *testing.T) ([]byte, bool) {
			b := mpEncode(t, `{"type":2,"nsp":"/","data":["x",0]}`)
			deep := append([]byte(strings.Repeat("\x91", 70)), 0x90)
			return append(b[:len(b)-1], deep...), true
		}, ErrInvalidPacket},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newTestServer(t, Options{Parser: MsgpackParser})
			errs := make(chan error, 4)
			reasons := make(chan DisconnectReason, 1)
			srv.OnConnection(func(s *Socket) {
				s.OnError(func(_ *Socket, err error) { errs <- err })
				s.OnDisconnect(func(_ *Socket, r DisconnectReason) { reasons <- r })
			})
			c := mpDial(t, srv)
			c.connect("/", "")
			data, binary := tc.msg(t)
			if binary {
				c.SendBinary(data)
			} else {
				c.Send(string(data))
			}
			c.WaitClosed()
			select {
			case err := <-errs:
				var pe *ProtocolError
				if !errors.As(err, &pe) || !errors.Is(err, tc.want) {
					t.Fatalf("error %v, want a *ProtocolError matching %v", err, tc.want)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no error reported")
			}
			if r := <-reasons; r != ReasonForcedClose {
				t.Fatalf("reason %q", r)
			}
		})
	}
}

// What is accepted beyond the plain form: keys in any order, unknown keys,
// a type or id written as an integral float, undefined values, non-string
// keys, dates and extensions in data.
func TestMsgpackDecodeLenient(t *testing.T) {
	intern := func(b []byte) string { return string(b) }
	// {nsp:"/", x: 1, 7: "k", id: 3.0, data: ["ev", undefined, {u: undefined, d: Date(0)}, ext(5,"ab")], type: 2.0}
	b := msgpack.AppendMapHeader(nil, 6)
	b = msgpack.AppendString(b, "nsp")
	b = msgpack.AppendString(b, "/")
	b = msgpack.AppendString(b, "x")
	b = msgpack.AppendInt(b, 1)
	b = msgpack.AppendInt(b, 7)
	b = msgpack.AppendString(b, "k")
	b = msgpack.AppendString(b, "id")
	b = append(b, 0xcb, 0x40, 0x08, 0, 0, 0, 0, 0, 0) // 3.0
	b = msgpack.AppendString(b, "data")
	b = msgpack.AppendArrayHeader(b, 4)
	b = msgpack.AppendString(b, "ev")
	b = append(b, 0xd4, 0, 0)
	b = msgpack.AppendMapHeader(b, 2)
	b = msgpack.AppendString(b, "u")
	b = append(b, 0xd4, 0, 0)
	b = msgpack.AppendString(b, "d")
	b = append(b, 0xd7, 0, 0, 0, 0, 0, 0, 0, 0, 0) // notepack 2 Date(0)
	b = append(b, 0xd5, 5, 'a', 'b')               // fixext 2, type 5
	b = msgpack.AppendString(b, "type")
	b = append(b, 0xcb, 0x40, 0x00, 0, 0, 0, 0, 0, 0) // 2.0
	p, err := decodeMsgpackPacket(b, intern, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	if p.typ != codec.SIOEvent || p.ackID != 3 || p.nsp != "/" || p.eventName() != "ev" {
		t.Fatalf("packet %+v", p)
	}
	if got := p.args().String(); got != `[null,{"d":"1970-01-01T00:00:00.000Z"},[5,{"_placeholder":true,"num":0}]]` {
		t.Fatalf("args %s", got)
	}
	if len(p.attachments) != 1 || string(p.attachments[0]) != "ab" {
		t.Fatalf("attachments %q", p.attachments)
	}
	// a number as the event name, as with the JSON parser
	p, err = decodeMsgpackPacket(mpEncode(t, `{"type":2,"nsp":"/","data":[12,"x"]}`), intern, 10_000)
	if err != nil || p.eventName() != "12" {
		t.Fatalf("numeric event name: %v %v", p, err)
	}
}

// BenchmarkParseInboundMsgpack is BenchmarkParseInbound's packet from a
// msgpack client.
func BenchmarkParseInboundMsgpack(b *testing.B) {
	data := mpEncode(b, `{"type":2,"data":["ev",{"a":1,"b":[1,2,3]},"x",42],"options":{"compress":true},"nsp":"/"}`)
	intern := func([]byte) string { return "/" }
	b.ReportAllocs()
	for b.Loop() {
		p, err := decodeMsgpackPacket(data, intern, 10_000)
		if err != nil {
			b.Fatal(err)
		}
		p.release() // as the mailbox does once the packet ran
	}
}

// BenchmarkEmitMsgpack is BenchmarkEmit with the msgpack parser.
func BenchmarkEmitMsgpack(b *testing.B) {
	srv := NewServer(Options{Parser: MsgpackParser})
	defer shutdown(srv)
	s := addFakeSockets(srv, srv.Sockets(), 1)[0]
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = s.Emit("tick", "payload", i)
	}
}

// BenchmarkBroadcastMsgpack is BenchmarkBroadcast's fake/1000 with the
// msgpack parser: the packet is transcoded once for all members.
func BenchmarkBroadcastMsgpack(b *testing.B) {
	srv := NewServer(Options{Parser: MsgpackParser})
	defer shutdown(srv)
	nsp := srv.Sockets()
	for _, s := range addFakeSockets(srv, nsp, 1000) {
		s.Join("room")
	}
	op := nsp.To("room")
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = op.Emit("tick", "payload", i)
	}
}
