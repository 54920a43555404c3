package sio

import (
	"sync"

	"github.com/fanio/fanio/engine"
	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/pool"
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
	Nsp         string
	ID          int64    // ack id, -1 for none
	Data        []byte   // the JSON array, with placeholders for attachments
	Attachments [][]byte // binary attachments, in placeholder order
	Event       string   // the event name (EVENT)
	Args        []any    // the arguments as given to Emit (for outgoing listeners)

	// The encoded forms, without and with compression, built on first use.
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

// Encode returns the packet as Engine.IO messages: the text, then each
// attachment.
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
// (engine.NewPrepared), built on first use; with compress, sessions that
// negotiated permessage-deflate get it compressed. Each form is built once
// and shared by every caller asking for it.
func (p *Packet) Prepared(compress bool) *engine.Prepared {
	i := 0
	if compress {
		i = 1
	}
	p.prepOnce[i].Do(func() {
		if len(p.Attachments) == 0 {
			var one [1]engine.Message
			bb := pool.Get()
			bb.B = p.header(bb.B)
			bb.B = append(bb.B, p.Data...)
			one[0] = engine.Message{Data: bb.B}
			p.prep[i] = engine.NewPrepared(one[:], compress)
			pool.Put(bb)
			return
		}
		p.prep[i] = engine.NewPrepared(p.Encode(), compress)
	})
	return p.prep[i]
}

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
	p := &Packet{Type: PacketType(typ), Nsp: nsp, ID: -1, Event: event, Args: args}
	p.Data = append(make([]byte, 0, len(e.buf)), e.buf...)
	if len(e.attachments) > 0 {
		p.Attachments = append([][]byte(nil), e.attachments...)
	}
	return p, nil
}
