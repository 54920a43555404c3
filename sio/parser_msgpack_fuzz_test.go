package sio

import (
	"bytes"
	"testing"

	"github.com/fanio/fanio/internal/codec"
)

// FuzzMsgpackPacket feeds the msgpack packet decoder anything: it must
// never panic; what it accepts must be a well-formed packet (valid JSON
// arguments, placeholders naming attachments it has), and its arguments,
// sent back (as an ACK, encoded by the parser), must decode to the same
// arguments.
func FuzzMsgpackPacket(f *testing.F) {
	for _, s := range []string{
		"83a474797065 00a464617461 d40000a36e7370a12f",
		"83a47479706500a46461746181a5746f6b656ea3616263a36e7370a62f61646d696e",
		"84a47479706502a46461746192a568656c6c6fa5776f726c64a76f7074696f6e7381a8636f6d7072657373c3a36e7370a12f",
		"85a47479706502a46461746192a27570c403010203a76f7074696f6e7381a8636f6d7072657373c3a2696401a36e7370a12f",
		"84a2696401a47479706503a46461746191a26f6ba36e7370a12f",
		"82a47479706501a36e7370a12f",
	} {
		f.Add(h2b(f, s))
	}
	f.Add(mpEncode(f, `{"type":2,"nsp":"/chat","id":5,"data":["ev",{"a":[1,2.5,null,true,{"_placeholder":true,"num":0}]},"é"]}`, []byte{1, 2}))
	f.Add(mpEncode(f, `{"type":3,"nsp":"/","id":0,"data":[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]}`, []byte{}, []byte("x")))
	f.Add(mpEncode(f, `{"type":4,"nsp":"/","data":{"message":"m"}}`))
	f.Add([]byte{0x81, 0xa4, 't', 'y', 'p', 'e', 0xd4, 0, 0})
	intern := func(b []byte) string { return string(b) }
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := decodeMsgpackPacket(data, intern, 10_000)
		if err != nil {
			return
		}
		if p.typ > codec.SIOConnectError || p.ackID < -1 || p.ackID >= maxMsgpackAckID {
			t.Fatalf("accepted type %d id %d", p.typ, p.ackID)
		}
		if len(p.data) > 0 && !codec.ValidJSON(p.data) {
			t.Fatalf("data is not JSON: %q", p.data)
		}
		if p.typ != codec.SIOEvent && p.typ != codec.SIOAck {
			return
		}
		if p.typ == codec.SIOEvent && p.event == nil {
			t.Fatal("an event without a name")
		}
		args := p.args()
		for _, v := range args {
			if !v.IsBinary() && !codec.ValidJSON(v.Raw()) {
				t.Fatalf("argument is not JSON: %q", v.Raw())
			}
		}
		// round trip through the encoder
		q, err := buildPacket(codec.SIOAck, "/", "", args.Any())
		if err != nil {
			t.Fatalf("re-encoding %s: %v", args, err)
		}
		q.ID = 1
		enc, err := msgpackParser{}.appendPacket(nil, q)
		if err != nil {
			t.Fatalf("msgpack encoding of %s: %v", q.Data, err)
		}
		back, err := decodeMsgpackPacket(enc, intern, 10_000)
		if err != nil {
			t.Fatalf("decoding our own %x: %v", enc, err)
		}
		a2 := back.args()
		if len(a2) != len(args) {
			t.Fatalf("round trip: %s became %s", args, a2)
		}
		for i := range args {
			if args[i].IsBinary() != a2[i].IsBinary() || !bytes.Equal(args[i].Bytes(), a2[i].Bytes()) ||
				inlined(args[i]) != inlined(a2[i]) {
				t.Fatalf("round trip: argument %d %s became %s", i, args[i], a2[i])
			}
		}
	})
}

// inlined is v's JSON with its binary parts inlined (what Decode sees).
func inlined(v Value) string {
	b, _ := v.MarshalJSON()
	return string(b)
}
