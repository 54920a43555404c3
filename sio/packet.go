package sio

import (
	"sync"

	"github.com/fanio/fanio/engine"
	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/pool"
)

// Packet is an outgoing EVENT or ACK packet, encoded: what an Adapter
// broadcasts. It is immutable once built.
type Packet struct {
	Type        codec.SIOType // SIOEvent or SIOAck (binary when it has attachments)
	Nsp         string
	ID          int64    // ack id, -1 for none
	Data        []byte   // the JSON array, with placeholders for attachments
	Attachments [][]byte // binary attachments, in placeholder order
	Event       string   // the event name (EVENT)
	Args        []any    // the arguments as given to Emit (for outgoing listeners)

	prepOnce sync.Once
	prep     *engine.Prepared
	compress bool
}

// header appends the packet header.
func (p *Packet) header(dst []byte) []byte {
	typ := p.Type
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
// (engine.NewPrepared), built on first use.
func (p *Packet) Prepared(compress bool) *engine.Prepared {
	p.prepOnce.Do(func() {
		p.compress = compress
		if len(p.Attachments) == 0 {
			var one [1]engine.Message
			bb := pool.Get()
			bb.B = p.header(bb.B)
			bb.B = append(bb.B, p.Data...)
			one[0] = engine.Message{Data: bb.B}
			p.prep = engine.NewPrepared(one[:], compress)
			pool.Put(bb)
			return
		}
		p.prep = engine.NewPrepared(p.Encode(), compress)
	})
	return p.prep
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

// buildPacket encodes an EVENT (event, args) or an ACK (args) into a new
// Packet. The last argument, if an AckFunc, is returned apart.
func buildPacket(typ codec.SIOType, nsp, event string, args []any) (*Packet, AckFunc, error) {
	var ack AckFunc
	if n := len(args); n > 0 {
		switch f := args[n-1].(type) {
		case AckFunc:
			ack, args = f, args[:n-1]
		case func(Args, error):
			ack, args = f, args[:n-1]
		}
	}
	e := getEncoder()
	defer e.release()
	if err := e.array(event, typ == codec.SIOEvent, args); err != nil {
		return nil, nil, err
	}
	p := &Packet{Type: typ, Nsp: nsp, ID: -1, Event: event, Args: args}
	p.Data = append(make([]byte, 0, len(e.buf)), e.buf...)
	if len(e.attachments) > 0 {
		p.Attachments = append([][]byte(nil), e.attachments...)
	}
	return p, ack, nil
}
