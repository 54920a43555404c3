package codec

import (
	"errors"
	"testing"
)

func TestDecodeSIOPacket(t *testing.T) {
	tests := []struct {
		in     string
		typ    SIOType
		att    int
		nsp    string
		ack    int64
		data   string
		err    bool
		maxAtt int
	}{
		// Examples from the Socket.IO v5 protocol description.
		{in: "0", typ: SIOConnect, nsp: "/", ack: -1},
		{in: `0/admin,{"token":"123"}`, typ: SIOConnect, nsp: "/admin", ack: -1, data: `{"token":"123"}`},
		{in: `0{"sid":"oSO0OpakMV_3jnilAAAA"}`, typ: SIOConnect, nsp: "/", ack: -1, data: `{"sid":"oSO0OpakMV_3jnilAAAA"}`},
		{in: "1/admin,", typ: SIODisconnect, nsp: "/admin", ack: -1},
		{in: "1/custom", typ: SIODisconnect, nsp: "/custom", ack: -1},
		{in: `2["hello",1]`, typ: SIOEvent, nsp: "/", ack: -1, data: `["hello",1]`},
		{in: `2/admin,456["project:delete",123]`, typ: SIOEvent, nsp: "/admin", ack: 456, data: `["project:delete",123]`},
		{in: `212["foo"]`, typ: SIOEvent, nsp: "/", ack: 12, data: `["foo"]`},
		{in: `3/admin,456[]`, typ: SIOAck, nsp: "/admin", ack: 456, data: `[]`},
		{in: `4{"message":"Not authorized"}`, typ: SIOConnectError, nsp: "/", ack: -1, data: `{"message":"Not authorized"}`},
		{in: `51-["hello",{"_placeholder":true,"num":0}]`, typ: SIOBinaryEvent, att: 1, nsp: "/", ack: -1, data: `["hello",{"_placeholder":true,"num":0}]`, maxAtt: 10},
		{in: `61-/admin,456[{"_placeholder":true,"num":0}]`, typ: SIOBinaryAck, att: 1, nsp: "/admin", ack: 456, data: `[{"_placeholder":true,"num":0}]`, maxAtt: 10},
		{in: `50-[]`, typ: SIOBinaryEvent, nsp: "/", ack: -1, data: `[]`},
		{in: `510-/a,["x"]`, typ: SIOBinaryEvent, att: 10, nsp: "/a", ack: -1, data: `["x"]`, maxAtt: 10},
		{in: `2abc[]`, typ: SIOEvent, nsp: "/", ack: -1, data: `abc[]`},
		{in: `2/,1[]`, typ: SIOEvent, nsp: "/", ack: 1, data: `[]`},
		{in: `2/a/b,`, typ: SIOEvent, nsp: "/a/b", ack: -1},
		{in: `2` + "999999999999999" + `[]`, typ: SIOEvent, nsp: "/", ack: 999999999999999, data: `[]`},
		{in: `2,[]`, typ: SIOEvent, nsp: "/", ack: -1, data: `,[]`},
		// Errors.
		{in: "", err: true},
		{in: "7", err: true},
		{in: "a", err: true},
		{in: "abc", err: true},
		{in: `2` + "1234567890123456" + `[]`, err: true},
		{in: `2/a,1234567890123456`, err: true},
		{in: `5["x"]`, err: true, maxAtt: 10},
		{in: `5-["x"]`, err: true, maxAtt: 10},
		{in: `51["x"]`, err: true, maxAtt: 10},
		{in: `51`, err: true, maxAtt: 10},
		{in: `511-[]`, err: true, maxAtt: 10},
		{in: `51-[]`, err: true, maxAtt: 0},
		{in: `59999999999999999999-[]`, err: true, maxAtt: 1 << 30},
	}
	for _, tt := range tests {
		p, err := DecodeSIOPacket([]byte(tt.in), tt.maxAtt)
		if tt.err {
			if !errors.Is(err, ErrBadSIOPacket) {
				t.Errorf("DecodeSIOPacket(%q) = %+v, %v; want error", tt.in, p, err)
			}
			continue
		}
		if err != nil || p.Type != tt.typ || p.Attachments != tt.att || string(p.Namespace) != tt.nsp ||
			p.AckID != tt.ack || string(p.Data) != tt.data {
			t.Errorf("DecodeSIOPacket(%q) = {%v %d %q %d %q} %v", tt.in, p.Type, p.Attachments, p.Namespace, p.AckID, p.Data, err)
		}
	}
}

// TestSIOThroughEIO decodes the examples of the protocol description as
// they appear on the wire, inside an Engine.IO MESSAGE packet.
func TestSIOThroughEIO(t *testing.T) {
	tests := []struct {
		in     string
		typ    SIOType
		att    int
		nsp    string
		ack    int64
		data   string
		sioErr bool
	}{
		{in: "40", typ: SIOConnect, nsp: "/", ack: -1},
		{in: `40/admin,{"token":"123"}`, typ: SIOConnect, nsp: "/admin", ack: -1, data: `{"token":"123"}`},
		{in: `42["hello",1]`, typ: SIOEvent, nsp: "/", ack: -1, data: `["hello",1]`},
		{in: `451-["hello",{"_placeholder":true,"num":0}]`, typ: SIOBinaryEvent, att: 1, nsp: "/", ack: -1, data: `["hello",{"_placeholder":true,"num":0}]`},
		{in: `461-/admin,456[{"_placeholder":true,"num":0}]`, typ: SIOBinaryAck, att: 1, nsp: "/admin", ack: 456, data: `[{"_placeholder":true,"num":0}]`},
		{in: "41/custom", typ: SIODisconnect, nsp: "/custom", ack: -1},
		{in: "4abc", sioErr: true},
		{in: "42abc[]", typ: SIOEvent, nsp: "/", ack: -1, data: "abc[]"},
	}
	for _, tt := range tests {
		et, msg, err := DecodePacket([]byte(tt.in))
		if err != nil || et != EIOMessage {
			t.Fatalf("%q: EIO %v %v", tt.in, et, err)
		}
		p, err := DecodeSIOPacket(msg, 10)
		if tt.sioErr {
			if err == nil {
				t.Errorf("%q: no error", tt.in)
			}
			continue
		}
		if err != nil || p.Type != tt.typ || p.Attachments != tt.att || string(p.Namespace) != tt.nsp ||
			p.AckID != tt.ack || string(p.Data) != tt.data {
			t.Errorf("%q = {%v %d %q %d %q} %v", tt.in, p.Type, p.Attachments, p.Namespace, p.AckID, p.Data, err)
		}
	}
	// "42abc[]" decodes as a header, but its data is not JSON.
	_, msg, _ := DecodePacket([]byte("42abc[]"))
	p, _ := DecodeSIOPacket(msg, 10)
	if _, err := ArrayElements(nil, p.Data); err == nil {
		t.Error(`"abc[]" accepted as a JSON array`)
	}
}

func TestAppendSIOHeader(t *testing.T) {
	tests := []struct {
		typ  SIOType
		att  int
		nsp  string
		ack  int64
		want string
	}{
		{typ: SIOConnect, nsp: "/", ack: -1, want: "0"},
		{typ: SIOConnect, nsp: "", ack: -1, want: "0"},
		{typ: SIOConnect, nsp: "/admin", ack: -1, want: "0/admin,"},
		{typ: SIOEvent, nsp: "/admin", ack: 456, want: "2/admin,456"},
		{typ: SIOAck, nsp: "/", ack: 0, want: "30"},
		{typ: SIOBinaryEvent, att: 1, nsp: "/", ack: -1, want: "51-"},
		{typ: SIOBinaryAck, att: 12, nsp: "/admin", ack: 456, want: "612-/admin,456"},
		{typ: SIOBinaryEvent, att: 0, nsp: "/", ack: -1, want: "50-"},
	}
	for _, tt := range tests {
		got := AppendSIOHeader(nil, tt.typ, tt.att, tt.nsp, tt.ack)
		if string(got) != tt.want {
			t.Errorf("AppendSIOHeader(%v,%d,%q,%d) = %q, want %q", tt.typ, tt.att, tt.nsp, tt.ack, got, tt.want)
		}
		data := `["x"]`
		p, err := DecodeSIOPacket(append(got, data...), 100)
		wantNsp := tt.nsp
		if wantNsp == "" {
			wantNsp = "/"
		}
		if err != nil || p.Type != tt.typ || string(p.Namespace) != wantNsp || p.AckID != tt.ack || string(p.Data) != data {
			t.Errorf("round trip %q: %+v %v", got, p, err)
		}
		if tt.typ.IsBinary() && p.Attachments != tt.att {
			t.Errorf("round trip %q: attachments %d", got, p.Attachments)
		}
	}
	if SIOBinaryAck.String() != "BINARY_ACK" || SIOType(9).String() != "SIOType(9)" {
		t.Error("SIOType.String")
	}
}
