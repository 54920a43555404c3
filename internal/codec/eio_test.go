package codec

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestDecodePacket(t *testing.T) {
	tests := []struct {
		in   string
		typ  EIOType
		data string
		err  bool
	}{
		{in: "0{\"sid\":\"x\"}", typ: EIOOpen, data: "{\"sid\":\"x\"}"},
		{in: "1", typ: EIOClose},
		{in: "2", typ: EIOPing},
		{in: "2probe", typ: EIOPing, data: "probe"},
		{in: "3probe", typ: EIOPong, data: "probe"},
		{in: "4hello", typ: EIOMessage, data: "hello"},
		{in: "4", typ: EIOMessage},
		{in: "5", typ: EIOUpgrade},
		{in: "6", typ: EIONoop},
		{in: "", err: true},
		{in: "7", err: true},
		{in: "9x", err: true},
		{in: "/", err: true},
		{in: "b4", err: true},
		{in: "\x00", err: true},
	}
	for _, tt := range tests {
		typ, data, err := DecodePacket([]byte(tt.in))
		if tt.err {
			if !errors.Is(err, ErrBadPacket) {
				t.Errorf("DecodePacket(%q) err = %v", tt.in, err)
			}
			continue
		}
		if err != nil || typ != tt.typ || string(data) != tt.data || data == nil {
			t.Errorf("DecodePacket(%q) = %v %q %v", tt.in, typ, data, err)
		}
		if got := AppendPacket(nil, typ, data); string(got) != tt.in {
			t.Errorf("AppendPacket round trip %q -> %q", tt.in, got)
		}
	}
	if EIOMessage.String() != "message" || EIOType(9).String() != "EIOType(9)" {
		t.Error("EIOType.String")
	}
}

func TestPollingPayload(t *testing.T) {
	var payload []byte
	payload = AppendPacket(payload, EIOMessage, []byte("hello"))
	payload = append(payload, RecordSeparator)
	payload = AppendPollingBinary(payload, []byte{1, 2, 3, 4})
	payload = append(payload, RecordSeparator)
	payload = AppendPacket(payload, EIOPing, nil)
	payload = append(payload, RecordSeparator)
	payload = AppendPollingBinary(payload, nil)
	if string(payload) != "4hello\x1ebAQIDBA==\x1e2\x1eb" {
		t.Fatalf("payload = %q", payload)
	}
	type rec struct {
		typ    EIOType
		data   string
		binary bool
	}
	want := []rec{{EIOMessage, "hello", false}, {EIOMessage, "\x01\x02\x03\x04", true}, {EIOPing, "", false}, {EIOMessage, "", true}}
	var got []rec
	scratch := make([]byte, 0, 64)
	var datas [][]byte
	for rest := payload; rest != nil; {
		var r []byte
		r, rest = NextRecord(rest)
		typ, data, binary, ns, err := DecodeRecord(r, scratch)
		if err != nil {
			t.Fatalf("record %q: %v", r, err)
		}
		scratch = ns // keep earlier binary data valid
		datas = append(datas, data)
		got = append(got, rec{typ, string(data), binary})
	}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] || string(datas[i]) != want[i].data {
			t.Errorf("record %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestNextRecordEdges(t *testing.T) {
	tests := []struct {
		in   string
		recs []string
	}{
		{in: "", recs: []string{""}},
		{in: "4a", recs: []string{"4a"}},
		{in: "4a\x1e", recs: []string{"4a", ""}},
		{in: "\x1e4a", recs: []string{"", "4a"}},
		{in: "4a\x1e\x1e4b", recs: []string{"4a", "", "4b"}},
	}
	for _, tt := range tests {
		var recs []string
		for rest := []byte(tt.in); rest != nil; {
			var r []byte
			r, rest = NextRecord(rest)
			recs = append(recs, string(r))
		}
		if len(recs) != len(tt.recs) {
			t.Errorf("%q: %q", tt.in, recs)
			continue
		}
		for i := range recs {
			if recs[i] != tt.recs[i] {
				t.Errorf("%q: %q", tt.in, recs)
			}
		}
	}
	// Empty records are bad packets.
	if _, _, _, _, err := DecodeRecord(nil, nil); !errors.Is(err, ErrBadPacket) {
		t.Errorf("empty record: %v", err)
	}
}

func TestDecodeRecordErrors(t *testing.T) {
	for _, in := range []string{"bAQID!A==", "bAQIDB", "b=", "8", ""} {
		scratch := []byte("keep")
		_, _, _, ns, err := DecodeRecord([]byte(in), scratch)
		if !errors.Is(err, ErrBadPacket) || string(ns) != "keep" {
			t.Errorf("DecodeRecord(%q) = %q, %v", in, ns, err)
		}
	}
	// Appending keeps the scratch prefix.
	_, data, binary, ns, err := DecodeRecord([]byte("baGk="), []byte("pre"))
	if err != nil || !binary || string(data) != "hi" || string(ns) != "prehi" {
		t.Errorf("append to scratch: %q %q %v", data, ns, err)
	}
}

func TestAppendOpenPacket(t *testing.T) {
	got := AppendOpenPacket(nil, "lv_VI97HAXpY6yYWAAAC", []string{"websocket"}, 25000, 20000, 1000000)
	want := `0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`
	if string(got) != want {
		t.Fatalf("got %s", got)
	}
	got = AppendOpenPacket(nil, `a"b`, nil, 1, 2, 3)
	want = `0{"sid":"a\"b","upgrades":[],"pingInterval":1,"pingTimeout":2,"maxPayload":3}`
	if string(got) != want {
		t.Fatalf("got %s", got)
	}
	var v map[string]any
	got = AppendOpenPacket(nil, "s", []string{"websocket", "webtransport"}, 1, 2, 3)
	if err := json.Unmarshal(got[1:], &v); err != nil || len(v["upgrades"].([]any)) != 2 {
		t.Fatalf("not JSON: %s %v", got, err)
	}
}
