package sio

import (
	"sync"
	"time"

	"github.com/fanio/fanio/internal/codec"
)

// reservedEvents may not be received nor emitted as event names.
var reservedEvents = map[string]bool{
	"connect": true, "connect_error": true, "disconnect": true,
	"disconnecting": true, "newListener": true, "removeListener": true,
}

// inPacket is one decoded inbound packet: a copy of the text message (one
// allocation) sliced into its parts, and its attachments.
type inPacket struct {
	c               *client
	typ             codec.SIOType
	nsp             string
	ackID           int64
	data            []byte    // JSON after the header (aliases buf)
	elems           [][]byte  // EVENT/ACK array elements (aliases buf)
	elemsBuf        [4][]byte // storage for elems when there are few
	event           []byte    // EVENT: the raw name element
	attachments     [][]byte
	wantAttachments int // attachments announced by the header
	size            int // bytes accounted to the client's queue
}

// inPackets recycles inPackets: one is parsed for every inbound packet
// (a CONNECT included, so every connection), and a 256-byte object of
// garbage per packet sits in the size class of long-lived connection
// state. Nothing refers to a packet once it ran: its data, elements and
// attachments, which handlers may keep, are allocations of their own.
var inPackets = sync.Pool{New: func() any { return new(inPacket) }}

// release returns p to inPackets; p must not be used afterwards.
func (p *inPacket) release() {
	*p = inPacket{}
	inPackets.Put(p)
}

// parseInbound decodes and validates one text message. It copies data.
// An event or acknowledgement with more than maxArgs top-level arguments
// is invalid: splitting 1 MB of "1,1,1,…" (500,000 of them) on an event
// loop cost 4 such clients' neighbours 681 ms acknowledgements.
func parseInbound(c *client, data []byte, maxAttachments, maxArgs int, intern func([]byte) string) (*inPacket, error) {
	h, err := codec.DecodeSIOPacket(data, maxAttachments)
	if err != nil {
		return nil, protocolError(err, data)
	}
	if h.Type.IsBinary() && h.Attachments < 1 {
		return nil, protocolError(ErrIllegalAttachments, data)
	}
	p := inPackets.Get().(*inPacket)
	*p = inPacket{c: c, typ: h.Type, ackID: h.AckID, wantAttachments: h.Attachments, size: len(data)}
	var v3Auth []byte
	if c != nil && c.eio3 {
		h.Namespace, v3Auth = v3Namespace(h.Namespace)
	}
	p.nsp = intern(h.Namespace)
	body := h.Data
	if len(body) > 0 {
		// one copy of what is kept
		body = append(make([]byte, 0, len(body)), body...)
	}
	p.data = body
	bad := func() (*inPacket, error) {
		p.release()
		return nil, protocolError(ErrInvalidPayload, data)
	}
	switch h.Type {
	case codec.SIOConnect:
		if len(body) > 0 && (body[0] != '{' || !codec.ValidJSON(body)) {
			return bad()
		}
		if c != nil && c.eio3 {
			// v4 protocol: the auth is the namespace's query, never the
			// payload.
			p.data = v3Auth
		}
	case codec.SIODisconnect:
		if len(body) > 0 {
			return bad()
		}
	case codec.SIOConnectError:
		if len(body) > 0 && ((body[0] != '{' && body[0] != '"') || !codec.ValidJSON(body)) {
			return bad()
		}
	case codec.SIOEvent, codec.SIOBinaryEvent:
		if len(body) == 0 {
			break // the reference dispatches nothing for an event without data
		}
		if p.elems, err = codec.ArrayElementsMax(p.elemsBuf[:0], body, maxArgs+1); err != nil || len(p.elems) == 0 {
			return bad()
		}
		name := p.elems[0]
		switch {
		case name[0] == '"':
			var buf [32]byte
			n, err := codec.AppendUnquote(buf[:0], name)
			if err != nil || reservedEvents[string(n)] {
				return bad()
			}
		case name[0] == '-' || (name[0] >= '0' && name[0] <= '9'):
			// a number is an event name too, for the reference
		default:
			return bad()
		}
		p.event = name
		p.elems = p.elems[1:]
	case codec.SIOAck, codec.SIOBinaryAck:
		if len(body) == 0 {
			break
		}
		if p.elems, err = codec.ArrayElementsMax(p.elemsBuf[:0], body, maxArgs); err != nil {
			return bad()
		}
	}
	if p.wantAttachments > 0 {
		// Every placeholder must name an attachment that will come.
		ok := true
		for _, e := range p.elems {
			walkObjects(e, func(start, end int) {
				if num, isPH := codec.ParsePlaceholder(e[start:end]); isPH && num >= p.wantAttachments {
					ok = false
				}
			})
		}
		if !ok {
			p.release()
			return nil, protocolError(ErrIllegalAttachments, data)
		}
		p.attachments = make([][]byte, 0, p.wantAttachments)
	}
	return p, nil
}

// eventName returns the packet's event name as a string.
func (p *inPacket) eventName() string {
	if p.event == nil {
		return ""
	}
	if p.event[0] == '"' {
		s, _ := codec.AppendUnquote(nil, p.event)
		return string(s)
	}
	return string(p.event)
}

// args builds the Args of the packet: top-level placeholders of binary
// packets become binary values.
func (p *inPacket) args() Args {
	if len(p.elems) == 0 {
		return nil
	}
	out := make(Args, len(p.elems))
	for i, e := range p.elems {
		if p.attachments != nil {
			if num, ok := codec.ParsePlaceholder(e); ok && num < len(p.attachments) {
				out[i] = Value{bin: p.attachments[num]}
				continue
			}
			out[i] = Value{raw: e, attachments: p.attachments}
			continue
		}
		out[i] = Value{raw: e}
	}
	return out
}

// Run implements pool.Task: the packet's handling on the mailbox. It
// releases p.
func (p *inPacket) Run() {
	defer p.finish()
	c := p.c
	c.queued.Add(-int32(p.size))
	c.maybeResume()
	if c.srv.stats.timing.Load() {
		start := time.Now()
		p.run(c)
		kind := handlerEvent
		switch p.typ {
		case codec.SIOConnect:
			kind = handlerConnect
		case codec.SIOAck, codec.SIOBinaryAck:
			kind = handlerAck
		}
		c.srv.stats.observe(kind, c.cellIndex(), time.Since(start))
		return
	}
	p.run(c)
}

// finish releases p after its handling; a panicking handler is logged
// first, with its socket and event (the pool's recover would come after
// the release, too late to read them).
func (p *inPacket) finish() {
	if v := recover(); v != nil {
		p.c.srv.handlerPanicked(v, p)
	}
	p.release()
}

func (p *inPacket) run(c *client) {
	// Packets that arrived before the connection closed are still handled
	// (the close is queued after them), as with the reference; only a
	// CONNECT on a closed connection is pointless.
	switch p.typ {
	case codec.SIOConnect:
		if c.isClosed() {
			return
		}
		if c.socket(p.nsp) != nil {
			c.forceClose()
			return
		}
		c.connect(p)
	case codec.SIOConnectError:
		c.forceClose()
	default:
		s := c.socket(p.nsp)
		if s == nil {
			if !c.isClosed() {
				c.forceClose()
			}
			return
		}
		s.onPacket(p)
	}
}
