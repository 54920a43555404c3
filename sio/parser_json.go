package sio

import (
	"github.com/fanio/fanio/engine"
	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/pool"
)

// jsonParser is JSONParser: socket.io-parser's text packets, binary values
// as attachments sent after them.
type jsonParser struct{}

func (jsonParser) Name() string        { return "json" }
func (jsonParser) slot() int           { return 0 }
func (jsonParser) controlBinary() bool { return false }

func (jsonParser) encode(p *Packet) ([]engine.Message, error) { return p.Encode(), nil }

func (jsonParser) prepare(p *Packet, compress bool) (*engine.Prepared, error) {
	if len(p.Attachments) == 0 {
		var one [1]engine.Message
		bb := pool.Get()
		bb.B = p.header(bb.B)
		bb.B = append(bb.B, p.Data...)
		one[0] = engine.Message{Data: bb.B}
		prep := engine.NewPrepared(one[:], compress)
		pool.Put(bb)
		return prep, nil
	}
	return engine.NewPrepared(p.Encode(), compress), nil
}

func (jsonParser) send(sess session, p *Packet) error {
	if len(p.Attachments) == 0 {
		bb := pool.Get()
		bb.B = p.header(bb.B)
		bb.B = append(bb.B, p.Data...)
		err := sess.Send(bb.B, false)
		pool.Put(bb)
		return err
	}
	return sess.SendBatch(p.Encode())
}

// sendAck encodes the ACK straight into a pooled buffer when it has no
// binary argument (nearly every ack): no Packet and no copy of its data,
// two allocations (~200 B) less per request answered, most of the echo
// benchmark's garbage.
func (j jsonParser) sendAck(sess session, nsp string, id int64, args []any) error {
	e := getEncoder()
	defer e.release()
	if err := e.array("", false, args); err != nil {
		return err
	}
	if len(e.attachments) > 0 {
		p := e.packet(codec.SIOAck, nsp, "", args)
		p.ID = id
		return j.send(sess, p)
	}
	bb := pool.Get()
	bb.B = codec.AppendSIOHeader(bb.B, codec.SIOAck, 0, nsp, id)
	bb.B = append(bb.B, e.buf...)
	err := sess.Send(bb.B, false)
	pool.Put(bb)
	return err
}

// sendControl sends the packet as text; the JSON parser's control packets
// carry no attachments (callers drop binary data: see controlBinary).
func (jsonParser) sendControl(sess session, typ codec.SIOType, nsp string, data []byte, _ [][]byte) error {
	bb := pool.Get()
	bb.B = codec.AppendSIOHeader(bb.B, typ, 0, nsp, -1)
	bb.B = append(bb.B, data...)
	err := sess.Send(bb.B, false)
	pool.Put(bb)
	return err
}

// decode reads a text packet, or an attachment of the binary packet being
// assembled (c.x.pend).
func (jsonParser) decode(c *client, data []byte, binary bool) (*inPacket, error) {
	x := c.x.Load() // nil until a binary packet (or a second namespace)
	if binary {
		var p *inPacket
		if x != nil {
			p = x.pend
		}
		if p == nil {
			return nil, protocolError(ErrUnexpectedBinary, nil)
		}
		p.attachments = append(p.attachments, append(make([]byte, 0, len(data)), data...))
		p.size += len(data)
		if len(p.attachments) < p.wantAttachments {
			return nil, nil
		}
		x.pend = nil
		return p, nil
	}
	if x != nil && x.pend != nil {
		x.pend = nil
		return nil, protocolError(ErrUnexpectedText, data)
	}
	p, err := parseInbound(c, data, c.srv.opts.MaxAttachments, c.srv.opts.MaxEventArgs, c.srv.intern)
	if err != nil {
		return nil, err
	}
	if p.wantAttachments > 0 {
		c.extra().pend = p
		return nil, nil
	}
	return p, nil
}
