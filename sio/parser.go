package sio

import (
	"fmt"

	"github.com/fanio/fanio/engine"
	"github.com/fanio/fanio/internal/codec"
)

// Parser is how a server writes Socket.IO packets as Engine.IO messages and
// reads them back: the reference server's "parser" option, set with
// Options.Parser. Client and server must use the same one; nothing in the
// handshake says which (a mismatch shows as the client's connection being
// closed, not as a connect_error).
//
// There are two: JSONParser, the default (socket.io-parser: a text message
// per packet, binary attachments as messages of their own), and
// MsgpackParser (socket.io-msgpack-parser 3.x: a binary MessagePack message
// per packet, binary values inline). The interface is closed: the parsers
// share sio's own form of a packet (Packet, Value), which other encodings
// would have to be written inside sio to use.
//
// Whatever the parser, a packet is held in one form inside sio — the JSON
// text of its arguments, binary values as attachments (Packet.Data and
// Attachments; Value) — which is what handlers decode, adapters exchange
// and connection state recovery keeps; the parser turns it into the wire
// form when the packet is sent (a broadcast once, for every member) and
// turns what arrives into it. For MessagePack that is one pass over the
// bytes each way, without building a tree of values (see MsgpackParser).
type Parser interface {
	// Name is the parser's name: "json" or "msgpack".
	Name() string

	// slot is the parser's index among the encoded forms a Packet keeps.
	slot() int
	// encode returns the Engine.IO messages of p (an EVENT or an ACK).
	encode(p *Packet) ([]engine.Message, error)
	// prepare encodes p once for every session (a broadcast).
	prepare(p *Packet, compress bool) (*engine.Prepared, error)
	// send writes p to one session.
	send(sess session, p *Packet) error
	// sendAck writes the ACK of id with args to one session (an Ack
	// called by a handler).
	sendAck(sess session, nsp string, id int64, args []any) error
	// sendControl writes a CONNECT, CONNECT_ERROR or DISCONNECT packet
	// whose data is the JSON text data (none when nil), with binary
	// attachments atts for its placeholders.
	sendControl(sess session, typ codec.SIOType, nsp string, data []byte, atts [][]byte) error
	// controlBinary reports whether control packets can carry binary data.
	controlBinary() bool
	// decode reads one Engine.IO message of client c (on c's inMu). It
	// returns the complete packet, nil while one is being assembled, or a
	// *ProtocolError.
	decode(c *client, data []byte, binary bool) (*inPacket, error)
}

// The parsers.
var (
	// JSONParser is the default parser, socket.io-parser's format (the
	// Socket.IO protocol as published): a packet is a text message, its
	// binary values follow as binary messages.
	JSONParser Parser = jsonParser{}
	// MsgpackParser is socket.io-msgpack-parser 3.x's format: a packet is
	// one binary message, a MessagePack map {type, nsp, data, id}, with
	// binary values inline (clients: io(url, {parser}) with
	// socket.io-msgpack-parser, or the socket.io.msgpack.min.js bundle).
	// What arrives is read in one pass into sio's form (JSON text, binary
	// values as attachments); notepack's undefined becomes null (left out
	// of maps, as JSON.stringify does), dates become ISO strings, other
	// extensions [type, binary]. Packet types 0-4 only; ack ids must be
	// integers from 0 to 10^15 (as with the JSON parser). Engine.IO v3
	// connections (Options.AllowEIO3) get the server's parser too: the
	// msgpack parser of socket.io-client 2.x (socket.io-msgpack-parser 2.x)
	// is another format, which neither fanio nor the reference's 3.x
	// speaks.
	MsgpackParser Parser = msgpackParser{}
)

// ParserByName returns the parser named name ("json" or "msgpack").
func ParserByName(name string) (Parser, error) {
	switch name {
	case "json", "":
		return JSONParser, nil
	case "msgpack":
		return MsgpackParser, nil
	}
	return nil, fmt.Errorf("sio: unknown parser %q (json or msgpack)", name)
}
