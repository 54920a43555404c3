package sio

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/fanio/fanio/engine"
	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/msgpack"
	"github.com/fanio/fanio/internal/pool"
)

// msgpackParser is MsgpackParser: socket.io-msgpack-parser 3.x (notepack.io
// 2.x). Each packet is one binary message holding a MessagePack map; the
// reference writes {type, data, [id], nsp} (an ACK {id, type, data, nsp})
// and a client adds an "options" key to its events; readers take the keys
// in any order and ignore the others.
type msgpackParser struct{}

// ErrInvalidPacket is the error (in a *ProtocolError) for a message the
// msgpack parser cannot read as a packet: not MessagePack (or nested
// deeper than 64), not a map, a type, namespace or id missing or of the
// wrong kind, a text message.
// Wrong data for the packet's type is ErrInvalidPayload, as with the JSON
// parser.
var ErrInvalidPacket = errors.New("sio: invalid msgpack packet")

var (
	errMPText     = fmt.Errorf("%w: a text message (the msgpack parser reads binary messages)", ErrInvalidPacket)
	errMPNotMap   = fmt.Errorf("%w: not a MessagePack map", ErrInvalidPacket)
	errMPType     = fmt.Errorf("%w: invalid packet type", ErrInvalidPacket)
	errMPNsp      = fmt.Errorf("%w: invalid namespace", ErrInvalidPacket)
	errMPID       = fmt.Errorf("%w: invalid packet id", ErrInvalidPacket)
	errMPTrailing = fmt.Errorf("%w: trailing bytes", ErrInvalidPacket)
)

// maxMsgpackAckID keeps ack ids below 10^15, as the JSON parser does (and
// inside the integers a JavaScript number holds exactly).
const maxMsgpackAckID = 1e15

// The map keys, as MessagePack strings.
var (
	mpKeyType = msgpack.AppendString(nil, "type")
	mpKeyData = msgpack.AppendString(nil, "data")
	mpKeyID   = msgpack.AppendString(nil, "id")
	mpKeyNsp  = msgpack.AppendString(nil, "nsp")
)

func (msgpackParser) Name() string        { return "msgpack" }
func (msgpackParser) slot() int           { return 1 }
func (msgpackParser) controlBinary() bool { return true }

// appendPacket appends p as a MessagePack map: its JSON data transcoded,
// placeholders replaced by their attachments as bin.
func (msgpackParser) appendPacket(dst []byte, p *Packet) ([]byte, error) {
	var ph msgpack.PlaceholderFunc
	if len(p.Attachments) > 0 {
		ph = func(num int) ([]byte, bool) {
			if num < len(p.Attachments) {
				return p.Attachments[num], true
			}
			return nil, false
		}
	}
	typ := int64(PacketEvent)
	if p.Type == PacketAck || p.Type == PacketBinaryAck {
		typ = int64(PacketAck) // the msgpack parser has no binary types
	}
	n := 3
	if p.ID >= 0 {
		n = 4
	}
	dst = msgpack.AppendMapHeader(dst, n)
	if typ == int64(PacketAck) && p.ID >= 0 {
		dst = msgpack.AppendInt(append(dst, mpKeyID...), p.ID)
	}
	dst = msgpack.AppendInt(append(dst, mpKeyType...), typ)
	var err error
	if dst, err = msgpack.AppendFromJSON(append(dst, mpKeyData...), p.Data, ph); err != nil {
		return dst, fmt.Errorf("sio: encoding a packet's data as MessagePack: %w", err)
	}
	if typ == int64(PacketEvent) && p.ID >= 0 {
		dst = msgpack.AppendInt(append(dst, mpKeyID...), p.ID)
	}
	return msgpack.AppendString(append(dst, mpKeyNsp...), p.Nsp), nil
}

// estimate is a first capacity for p's encoding.
func estimate(p *Packet) int {
	n := 32 + len(p.Nsp) + len(p.Data)
	for _, a := range p.Attachments {
		n += len(a)
	}
	return n
}

func (mp msgpackParser) encode(p *Packet) ([]engine.Message, error) {
	b, err := mp.appendPacket(make([]byte, 0, estimate(p)), p)
	if err != nil {
		return nil, err
	}
	return []engine.Message{{Data: b, Binary: true}}, nil
}

func (mp msgpackParser) prepare(p *Packet, compress bool) (*engine.Prepared, error) {
	bb := pool.Get()
	defer pool.Put(bb)
	var err error
	if bb.B, err = mp.appendPacket(bb.B, p); err != nil {
		return nil, err
	}
	one := [1]engine.Message{{Data: bb.B, Binary: true}}
	return engine.NewPrepared(one[:], compress), nil
}

func (mp msgpackParser) send(sess session, p *Packet) error {
	bb := pool.Get()
	defer pool.Put(bb)
	var err error
	if bb.B, err = mp.appendPacket(bb.B, p); err != nil {
		return err
	}
	return sess.Send(bb.B, true)
}

// sendAck sends the ACK as any packet (its arguments are transcoded from
// the JSON form).
func (mp msgpackParser) sendAck(sess session, nsp string, id int64, args []any) error {
	p, err := buildPacket(codec.SIOAck, nsp, "", args)
	if err != nil {
		return err
	}
	p.ID = id
	return mp.send(sess, p)
}

func (msgpackParser) sendControl(sess session, typ codec.SIOType, nsp string, data []byte, atts [][]byte) error {
	bb := pool.Get()
	defer pool.Put(bb)
	n := 2
	if data != nil {
		n = 3
	}
	b := msgpack.AppendMapHeader(bb.B, n)
	b = msgpack.AppendInt(append(b, mpKeyType...), int64(typ))
	if data != nil {
		var ph msgpack.PlaceholderFunc
		if len(atts) > 0 {
			ph = func(num int) ([]byte, bool) {
				if num < len(atts) {
					return atts[num], true
				}
				return nil, false
			}
		}
		var err error
		if b, err = msgpack.AppendFromJSON(append(b, mpKeyData...), data, ph); err != nil {
			return fmt.Errorf("sio: encoding a packet's data as MessagePack: %w", err)
		}
	}
	b = msgpack.AppendString(append(b, mpKeyNsp...), nsp)
	bb.B = b
	return sess.Send(b, true)
}

// decode reads one binary message as a packet, walking the MessagePack
// bytes once: the packet's data becomes JSON text (what sio keeps of every
// packet), binary values attachments, each copied once.
func (msgpackParser) decode(c *client, data []byte, binary bool) (*inPacket, error) {
	if !binary {
		return nil, protocolError(errMPText, data)
	}
	p, err := decodeMsgpackPacket(data, c.srv.intern, c.srv.opts.MaxEventArgs)
	if err != nil {
		return nil, protocolError(err, data)
	}
	p.c = c
	return p, nil
}

// decodeMsgpackPacket decodes and validates data as
// socket.io-msgpack-parser's Decoder does (then sio's own checks of event
// names and ack ids), copying what the packet keeps.
func decodeMsgpackPacket(data []byte, intern func([]byte) string, maxArgs int) (*inPacket, error) {
	r := msgpack.NewReader(data)
	n, err := r.MapHeader()
	if err != nil {
		return nil, errMPNotMap
	}
	// The last occurrence of a key wins, as in a JavaScript object.
	var typRaw, nspRaw, idRaw, dataRaw []byte
	for range n {
		var key []byte
		if r.Peek() == msgpack.KindString {
			key, _ = r.StringBytes()
		} else if err := r.Skip(); err != nil {
			return nil, errMPNotMap
		}
		v, err := r.Raw()
		if err != nil {
			return nil, errMPNotMap
		}
		switch string(key) {
		case "type":
			typRaw = v
		case "nsp":
			nspRaw = v
		case "id":
			idRaw = v
		case "data":
			dataRaw = v
		}
	}
	if r.Len() != 0 {
		return nil, errMPTrailing
	}
	typ, ok := mpInteger(typRaw)
	if !ok || typ < int64(PacketConnect) || typ > int64(PacketConnectError) {
		return nil, errMPType
	}
	nr := msgpack.NewReader(nspRaw)
	if nr.Peek() != msgpack.KindString {
		return nil, errMPNsp
	}
	nsp, _ := nr.StringBytes()
	p := inPackets.Get().(*inPacket)
	*p = inPacket{typ: codec.SIOType(typ), ackID: -1, size: len(data)}
	fail := func(err error) (*inPacket, error) {
		p.release()
		return nil, err
	}
	if idRaw != nil && !mpUndefined(idRaw) {
		id, ok := mpInteger(idRaw)
		if !ok || id < 0 || id >= maxMsgpackAckID {
			return fail(errMPID)
		}
		p.ackID = id
	}
	if mpUndefined(dataRaw) {
		dataRaw = nil
	}
	dr := msgpack.NewReader(dataRaw)
	switch PacketType(typ) {
	case PacketConnect:
		if dataRaw != nil {
			if dr.Peek() != msgpack.KindMap {
				return fail(ErrInvalidPayload)
			}
			if p.data, err = dr.AppendJSON(make([]byte, 0, len(dataRaw)+16), nil); err != nil {
				return fail(ErrInvalidPayload)
			}
		}
	case PacketDisconnect:
		if dataRaw != nil {
			return fail(ErrInvalidPayload)
		}
	case PacketConnectError:
		if k := dr.Peek(); k != msgpack.KindString && k != msgpack.KindMap {
			return fail(ErrInvalidPayload)
		}
		if p.data, err = dr.AppendJSON(nil, nil); err != nil {
			return fail(ErrInvalidPayload)
		}
	case PacketEvent, PacketAck:
		if dr.Peek() != msgpack.KindArray {
			return fail(ErrInvalidPayload)
		}
		if maxArgs > 0 && p.typ == codec.SIOEvent {
			maxArgs++ // the event name
		}
		if err := p.readArgs(&dr, len(dataRaw), maxArgs); err != nil {
			return fail(err)
		}
		if p.typ == codec.SIOEvent {
			if len(p.elems) == 0 {
				return fail(ErrInvalidPayload)
			}
			name := p.elems[0]
			switch {
			case name[0] == '"':
				var buf [32]byte
				un, err := codec.AppendUnquote(buf[:0], name)
				if err != nil || reservedEvents[string(un)] {
					return fail(ErrInvalidPayload)
				}
			case name[0] == '-' || (name[0] >= '0' && name[0] <= '9'):
			default:
				return fail(ErrInvalidPayload)
			}
			p.event = name
			p.elems = p.elems[1:]
		}
	}
	p.nsp = intern(nsp)
	return p, nil
}

// readArgs transcodes the array of an EVENT or ACK into p.data (JSON text),
// p.elems (its elements) and p.attachments (its binary values, as
// placeholders in the text).
func (p *inPacket) readArgs(r *msgpack.Reader, size, maxArgs int) error {
	n, err := r.ArrayHeader()
	if err != nil || (maxArgs > 0 && n > maxArgs) {
		// Refused on its header, before a single element is read
		// (Options.MaxEventArgs).
		return ErrInvalidPayload
	}
	t := argTranscoder{out: make([]byte, 0, size+16)}
	var spans [8][2]int
	sp := spans[:0]
	t.out = append(t.out, '[')
	for i := range n {
		if i > 0 {
			t.out = append(t.out, ',')
		}
		start := len(t.out)
		if t.out, err = r.AppendJSON(t.out, t.binary); err != nil {
			return ErrInvalidPayload
		}
		sp = append(sp, [2]int{start, len(t.out)})
	}
	t.out = append(t.out, ']')
	p.data = t.out
	p.elems = p.elemsBuf[:0]
	for _, s := range sp {
		p.elems = append(p.elems, t.out[s[0]:s[1]:s[1]])
	}
	if len(t.atts) > 0 {
		p.attachments = t.atts
	}
	p.size = len(t.out) + t.attBytes
	return nil
}

// argTranscoder collects the binary values of a packet's arguments as
// attachments while they are written as JSON.
type argTranscoder struct {
	out      []byte
	atts     [][]byte
	attBytes int
}

// binary is the msgpack.BinaryFunc: the value becomes the next attachment
// (a copy: the message's buffer is not ours to keep), its place a
// placeholder. An empty one stays non-nil (nil is no value).
func (t *argTranscoder) binary(dst, b []byte) []byte {
	num := len(t.atts)
	t.atts = append(t.atts, append(make([]byte, 0, len(b)), b...))
	t.attBytes += len(b)
	dst = append(dst, `{"_placeholder":true,"num":`...)
	dst = strconv.AppendInt(dst, int64(num), 10)
	return append(dst, '}')
}

// mpInteger reads raw as an integer: any integer form, or a float that is
// one (JavaScript's Number.isInteger).
func mpInteger(raw []byte) (int64, bool) {
	r := msgpack.NewReader(raw)
	switch r.Peek() {
	case msgpack.KindInt:
		v, err := r.Int()
		return v, err == nil
	case msgpack.KindFloat:
		f, err := r.Float()
		if err != nil || f != math.Trunc(f) || math.IsInf(f, 0) || math.Abs(f) > 1<<62 {
			return 0, false
		}
		return int64(f), true
	}
	return 0, false
}

// mpUndefined reports whether raw is absent or notepack's undefined.
func mpUndefined(raw []byte) bool {
	if raw == nil {
		return true
	}
	r := msgpack.NewReader(raw)
	return r.Peek() == msgpack.KindUndefined
}
