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
