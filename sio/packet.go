package sio

import (
	"errors"
	"sync"

	"github.com/fanio/fanio/engine"
	"github.com/fanio/fanio/internal/codec"
)

// PacketType is the type of a Socket.IO packet, numbered as on the wire
// (and in the reference's socket-io parser, which multi-node adapters
// exchange).
type PacketType uint8

// Packet types.
const (
	PacketConnect      PacketType = 0
	PacketDisconnect   PacketType = 1
	PacketEvent        PacketType = 2
	PacketAck          PacketType = 3
	PacketConnectError PacketType = 4
	PacketBinaryEvent  PacketType = 5
	PacketBinaryAck    PacketType = 6
)

// Packet is an outgoing EVENT or ACK packet, encoded: what an Adapter
// broadcasts. Once handed to an Adapter it is immutable and safe for
// concurrent use.
type Packet struct {
	Type        PacketType // PacketEvent or PacketAck; sent as the binary type when it has attachments
	prepSlot    [2]uint8   // the parser (slot) each prep form is in (fits in Type's padding)
	Nsp         string
	ID          int64    // ack id, -1 for none
	Data        []byte   // the JSON array, with placeholders for attachments
	Attachments [][]byte // binary attachments, in placeholder order
	Event       string   // the event name (EVENT)
	Args        []any    // the arguments as given to Emit (for outgoing listeners)

	// The encoded forms, without and with compression, built on first use
	// in the form of the parser that asks first (a server has one parser);
	// nil when encoding failed.
	prepOnce [2]sync.Once
	prep     [2]*engine.Prepared
}

// header appends the packet header.
func (p *Packet) header(dst []byte) []byte {
	typ := codec.SIOType(p.Type)
	if len(p.Attachments) > 0 {
		if typ == codec.SIOEvent {
			typ = codec.SIOBinaryEvent
		} else if typ == codec.SIOAck {
			typ = codec.SIOBinaryAck
		}
	}
	return codec.AppendSIOHeader(dst, typ, len(p.Attachments), p.Nsp, p.ID)
}

// Encode returns the packet as Engine.IO messages in the JSON parser's
// form (the default): the text, then each attachment.
func (p *Packet) Encode() []engine.Message {
	text := p.header(make([]byte, 0, 16+len(p.Nsp)+len(p.Data)))
	text = append(text, p.Data...)
	msgs := make([]engine.Message, 0, 1+len(p.Attachments))
	msgs = append(msgs, engine.Message{Data: text})
	for _, a := range p.Attachments {
		msgs = append(msgs, engine.Message{Data: a, Binary: true})
	}
	return msgs
}

// Prepared returns the packet encoded once for every transport
// (engine.NewPrepared) in the JSON parser's form, built on first use; with
// compress, sessions that negotiated permessage-deflate get it
// compressed. Each form is built once and shared by every caller asking
// for it. (A server sends the form of its Options.Parser.)
func (p *Packet) Prepared(compress bool) *engine.Prepared {
	prep, _ := p.prepared(JSONParser, compress)
	return prep
}

// prepared is Prepared in parser's form. The form is kept for the first
// parser that asks; another one (which a server never is) gets its own
// encoding each time.
func (p *Packet) prepared(parser Parser, compress bool) (*engine.Prepared, error) {
	i := 0
	if compress {
		i = 1
	}
	var err error
	p.prepOnce[i].Do(func() {
		p.prepSlot[i] = uint8(parser.slot())
		p.prep[i], err = parser.prepare(p, compress)
	})
	if p.prepSlot[i] != uint8(parser.slot()) {
		return parser.prepare(p, compress)
	}
	if p.prep[i] == nil {
		if err == nil {
			err = errUnencodable
		}
		return nil, err
	}
	return p.prep[i], nil
}

// errUnencodable: a packet whose data the parser could not encode (the
// first caller got the reason).
var errUnencodable = errors.New("sio: the packet's data cannot be encoded by the parser")

// withOffset returns a copy of p whose data has offset appended as its last
// argument (connection state recovery).
func (p *Packet) withOffset(offset string) *Packet {
	q := &Packet{Type: p.Type, Nsp: p.Nsp, ID: p.ID, Attachments: p.Attachments, Event: p.Event, Args: p.Args}
	d := make([]byte, 0, len(p.Data)+len(offset)+4)
	d = append(d, p.Data[:len(p.Data)-1]...)
	if len(p.Data) > 2 {
		d = append(d, ',')
	}
	d = codec.AppendJSONString(d, offset)
	q.Data = append(d, ']')
	return q
}

// splitAck takes an acknowledgement callback off the end of args: an
// AckFunc (one socket's answer) or a BroadcastAckFunc (a broadcast's
// answers), or the plain func types they name.
func splitAck(args []any) (rest []any, ack AckFunc, broadcastAck BroadcastAckFunc) {
	n := len(args)
	if n == 0 {
		return args, nil, nil
	}
	switch f := args[n-1].(type) {
	case AckFunc:
		return args[:n-1], f, nil
	case func(Args, error):
		return args[:n-1], f, nil
	case BroadcastAckFunc:
		return args[:n-1], nil, f
	case func([]Args, error):
		return args[:n-1], nil, f
	}
	return args, nil, nil
}

// buildPacket encodes an EVENT (event, args) or an ACK (args) into a new
// Packet. An acknowledgement callback among args is an error: callers take
// it off first (splitAck).
func buildPacket(typ codec.SIOType, nsp, event string, args []any) (*Packet, error) {
	e := getEncoder()
	defer e.release()
	if err := e.array(event, typ == codec.SIOEvent, args); err != nil {
		return nil, err
	}
	return e.packet(typ, nsp, event, args), nil
}

// packet returns the Packet of what e encoded, with copies of its bytes.
func (e *encoder) packet(typ codec.SIOType, nsp, event string, args []any) *Packet {
	p := &Packet{Type: PacketType(typ), Nsp: nsp, ID: -1, Event: event, Args: args}
	p.Data = append(make([]byte, 0, len(e.buf)), e.buf...)
	if len(e.attachments) > 0 {
		p.Attachments = append([][]byte(nil), e.attachments...)
	}
	return p
}
