package sio

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/fanio/fanio/internal/codec"
)

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
