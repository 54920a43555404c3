package sio

import (
	"strings"
	"testing"

	"github.com/fanio/fanio/internal/codec"
)

// PacketType values are the wire numbers (multi-node adapters exchange
// them with the reference's nodes).
func TestPacketTypeNumbers(t *testing.T) {
	for p, c := range map[PacketType]codec.SIOType{
		PacketConnect: codec.SIOConnect, PacketDisconnect: codec.SIODisconnect, PacketEvent: codec.SIOEvent,
		PacketAck: codec.SIOAck, PacketConnectError: codec.SIOConnectError,
		PacketBinaryEvent: codec.SIOBinaryEvent, PacketBinaryAck: codec.SIOBinaryAck,
	} {
		if uint8(p) != uint8(c) {
			t.Errorf("PacketType %d is codec type %d", p, c)
		}
	}
}

// Prepared builds each form once, and the form asked for: a first call
// without compression does not fix it for later callers.
func TestPacketPreparedPerCompress(t *testing.T) {
	p, err := buildPacket(codec.SIOEvent, "/", "ev", []any{strings.Repeat("x", 4096)})
	if err != nil {
		t.Fatal(err)
	}
	plain := p.Prepared(false)
	compressed := p.Prepared(true)
	if plain == compressed {
		t.Fatal("Prepared(true) returned the uncompressed form built first")
	}
	if p.Prepared(false) != plain || p.Prepared(true) != compressed {
		t.Fatal("a form was built twice")
	}
}

// The form kept is the first parser's; another parser gets its own form,
// built each time, never the first one's bytes. A packet whose data the
// msgpack parser cannot encode fails for every caller.
func TestPacketPreparedPerParser(t *testing.T) {
	p, err := buildPacket(codec.SIOEvent, "/", "ev", []any{1})
	if err != nil {
		t.Fatal(err)
	}
	mp, err := p.prepared(MsgpackParser, false)
	if err != nil || mp == nil {
		t.Fatal(err)
	}
	if again, _ := p.prepared(MsgpackParser, false); again != mp {
		t.Fatal("the msgpack form was built twice")
	}
	js := p.Prepared(false)
	if js == nil || js == mp {
		t.Fatal("the JSON form is the msgpack one")
	}
	if js2 := p.Prepared(false); js2 == js {
		t.Fatal("a second parser's form was kept")
	}
	bad := &Packet{Type: PacketEvent, Nsp: "/", ID: -1, Data: []byte(`["ev",{]`)}
	for range 2 {
		if prep, err := bad.prepared(MsgpackParser, true); err == nil || prep != nil {
			t.Fatalf("invalid data prepared: %v %v", prep, err)
		}
	}
}
