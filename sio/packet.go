package sio

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"sync"

	"github.com/fanio/fanio/engine"
	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/pool"
)

// Errors for invalid inbound packets (wrapped in a *ProtocolError).
var (
	ErrInvalidPayload     = errors.New("invalid payload")
	ErrIllegalAttachments = errors.New("illegal attachments")
	ErrUnexpectedBinary   = errors.New("got binary data when not reconstructing a packet")
	ErrUnexpectedText     = errors.New("got plaintext data when reconstructing a packet")
)

// ProtocolError is what an error handler receives when the client sent a
// packet the server cannot accept; the connection is then closed.
type ProtocolError struct {
	Err    error
	Packet string // the start of the offending message
}

func (e *ProtocolError) Error() string {
	return "sio: invalid packet (" + e.Err.Error() + "): " + e.Packet
}

func (e *ProtocolError) Unwrap() error { return e.Err }

func protocolError(err error, data []byte) *ProtocolError {
	n := min(len(data), 64)
	return &ProtocolError{Err: err, Packet: strconv.Quote(string(data[:n]))}
}

// reservedEvents may not be received nor emitted as event names.
var reservedEvents = map[string]bool{
	"connect": true, "connect_error": true, "disconnect": true,
	"disconnecting": true, "newListener": true, "removeListener": true,
}

// inPacket is one decoded inbound packet: a copy of the text message (one
// allocation) sliced into its parts, and its attachments.
type inPacket struct {
	c       *client
	typ     codec.SIOType
	nsp     string
	ackID   int64
	data    []byte   // JSON after the header (aliases buf)
	elems   [][]byte // EVENT/ACK array elements (aliases buf)
	inl     [4][]byte
	event   []byte // EVENT: the raw name element
	atts    [][]byte
	natt    int // attachments expected
	size    int // bytes accounted to the client's queue
	binNums bool
}

// parseInbound decodes and validates one text message. It copies data.
func parseInbound(c *client, data []byte, maxAttachments int, intern func([]byte) string) (*inPacket, error) {
	h, err := codec.DecodeSIOPacket(data, maxAttachments)
	if err != nil {
		return nil, protocolError(err, data)
	}
	if h.Type.IsBinary() && h.Attachments < 1 {
		return nil, protocolError(ErrIllegalAttachments, data)
	}
	p := &inPacket{c: c, typ: h.Type, ackID: h.AckID, natt: h.Attachments, size: len(data)}
	p.nsp = intern(h.Namespace)
	body := h.Data
	if len(body) > 0 {
		// one copy of what is kept
		body = append(make([]byte, 0, len(body)), body...)
	}
	p.data = body
	bad := func() (*inPacket, error) { return nil, protocolError(ErrInvalidPayload, data) }
	switch h.Type {
	case codec.SIOConnect:
		if len(body) > 0 && (body[0] != '{' || !codec.ValidJSON(body)) {
			return bad()
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
		if p.elems, err = codec.ArrayElements(p.inl[:0], body); err != nil || len(p.elems) == 0 {
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
		if p.elems, err = codec.ArrayElements(p.inl[:0], body); err != nil {
			return bad()
		}
	}
	if p.natt > 0 {
		// Every placeholder must name an attachment that will come.
		ok := true
		for _, e := range p.elems {
			walkObjects(e, func(start, end int) {
				if num, isPH := codec.ParsePlaceholder(e[start:end]); isPH && num >= p.natt {
					ok = false
				}
			})
		}
		if !ok {
			return nil, protocolError(ErrIllegalAttachments, data)
		}
		p.atts = make([][]byte, 0, p.natt)
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
		if p.atts != nil {
			if num, ok := codec.ParsePlaceholder(e); ok && num < len(p.atts) {
				out[i] = Value{bin: p.atts[num]}
				continue
			}
			out[i] = Value{raw: e, att: p.atts}
			continue
		}
		out[i] = Value{raw: e}
	}
	return out
}

// ---- outbound ----

// AckFunc, passed as the last argument of an Emit, asks the client for an
// acknowledgement; it is called once with the client's arguments, or with
// an error (ErrAckTimeout after a Timeout, ErrDisconnected). It runs on the
// socket's mailbox, like an event handler.
type AckFunc func(args Args, err error)

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

// encoder builds the JSON array of an emit, turning []byte arguments into
// attachments.
type encoder struct {
	buf  []byte
	atts [][]byte
	tmp  bytes.Buffer
	je   *json.Encoder
}

var encoders = sync.Pool{New: func() any { return new(encoder) }}

func getEncoder() *encoder { return encoders.Get().(*encoder) }

func (e *encoder) release() {
	if cap(e.buf) > 64<<10 {
		e.buf = nil
	}
	e.buf = e.buf[:0]
	clear(e.atts)
	e.atts = e.atts[:0]
	if e.tmp.Cap() > 64<<10 {
		e.tmp = bytes.Buffer{}
		e.je = nil
	}
	encoders.Put(e)
}

// array encodes [event?, args...] into e.buf.
func (e *encoder) array(event string, withEvent bool, args []any) error {
	e.buf = append(e.buf, '[')
	if withEvent {
		e.buf = codec.AppendJSONString(e.buf, event)
	}
	for i, a := range args {
		if withEvent || i > 0 {
			e.buf = append(e.buf, ',')
		}
		if err := e.value(a, 0); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, ']')
	return nil
}

func (e *encoder) placeholder(b []byte) {
	e.buf = append(e.buf, `{"_placeholder":true,"num":`...)
	e.buf = strconv.AppendInt(e.buf, int64(len(e.atts)), 10)
	e.buf = append(e.buf, '}')
	e.atts = append(e.atts, b)
}

func (e *encoder) value(a any, depth int) error {
	if depth > codec.MaxJSONDepth {
		return errors.New("sio: argument nested too deep")
	}
	switch v := a.(type) {
	case nil:
		e.buf = append(e.buf, "null"...)
	case string:
		e.buf = codec.AppendJSONString(e.buf, v)
	case []byte:
		e.placeholder(v)
	case Value:
		if v.raw == nil {
			e.placeholder(v.bin)
		} else if len(v.att) > 0 {
			e.buf = e.reembed(e.buf, v)
		} else {
			e.buf = append(e.buf, v.raw...)
		}
	case json.RawMessage:
		if !codec.ValidJSON(v) {
			return errors.New("sio: invalid json.RawMessage argument")
		}
		e.buf = append(e.buf, bytes.TrimSpace(v)...)
	case bool:
		e.buf = strconv.AppendBool(e.buf, v)
	case int:
		e.buf = strconv.AppendInt(e.buf, int64(v), 10)
	case int8:
		e.buf = strconv.AppendInt(e.buf, int64(v), 10)
	case int16:
		e.buf = strconv.AppendInt(e.buf, int64(v), 10)
	case int32:
		e.buf = strconv.AppendInt(e.buf, int64(v), 10)
	case int64:
		e.buf = strconv.AppendInt(e.buf, v, 10)
	case uint:
		e.buf = strconv.AppendUint(e.buf, uint64(v), 10)
	case uint8:
		e.buf = strconv.AppendUint(e.buf, uint64(v), 10)
	case uint16:
		e.buf = strconv.AppendUint(e.buf, uint64(v), 10)
	case uint32:
		e.buf = strconv.AppendUint(e.buf, uint64(v), 10)
	case uint64:
		e.buf = strconv.AppendUint(e.buf, v, 10)
	case float32:
		e.float(float64(v), 32)
	case float64:
		e.float(v, 64)
	case []any:
		return appendArray(e, v, func(x any) error { return e.value(x, depth+1) })
	case []string:
		return appendArray(e, v, e.str)
	case map[string]any:
		return appendObject(e, v, func(x any) error { return e.value(x, depth+1) })
	case map[string]string:
		return appendObject(e, v, e.str)
	case Args:
		return appendArray(e, v, func(x Value) error { return e.value(x, depth+1) })
	case AckFunc, func(Args, error):
		return errors.New("sio: an AckFunc must be the last argument")
	default:
		if rv := reflect.ValueOf(a); rv.Kind() == reflect.Func || rv.Kind() == reflect.Chan {
			return fmt.Errorf("sio: cannot emit a %T", a)
		}
		if e.je == nil {
			e.je = json.NewEncoder(&e.tmp)
			e.je.SetEscapeHTML(false)
		}
		e.tmp.Reset()
		if err := e.je.Encode(a); err != nil {
			return fmt.Errorf("sio: encoding a %T argument: %w", a, err)
		}
		e.buf = append(e.buf, bytes.TrimRight(e.tmp.Bytes(), "\n")...)
	}
	return nil
}

// float writes f as JavaScript's JSON.stringify does (NaN and ±Inf: null).
func (e *encoder) float(f float64, bits int) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		e.buf = append(e.buf, "null"...)
		return
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		e.buf = strconv.AppendFloat(e.buf, f, 'f', -1, bits)
		return
	}
	abs := math.Abs(f)
	if abs >= 1e-6 && abs < 1e21 {
		e.buf = strconv.AppendFloat(e.buf, f, 'f', -1, bits)
		return
	}
	// JavaScript writes exponents without leading zeros: 1e-7, not 1e-07.
	start := len(e.buf)
	e.buf = strconv.AppendFloat(e.buf, f, 'e', -1, bits)
	if i := bytes.IndexByte(e.buf[start:], 'e'); i >= 0 {
		j := start + i + 2 // after "e+" or "e-"
		for j < len(e.buf)-1 && e.buf[j] == '0' {
			e.buf = append(e.buf[:j], e.buf[j+1:]...)
		}
	}
}

// reembed writes a received JSON value whose nested placeholders point at
// the received packet's attachments, renumbering them as attachments of
// the packet being built.
// str appends s as a JSON string (it cannot fail; the error fits the
// element callbacks of appendArray and appendObject).
func (e *encoder) str(s string) error {
	e.buf = codec.AppendJSONString(e.buf, s)
	return nil
}

// appendArray appends xs as a JSON array, each element written by elem.
func appendArray[T any](e *encoder, xs []T, elem func(T) error) error {
	e.buf = append(e.buf, '[')
	for i, x := range xs {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		if err := elem(x); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, ']')
	return nil
}

// appendObject appends m as a JSON object with sorted keys (deterministic
// bytes, like encoding/json), each value written by val.
func appendObject[V any](e *encoder, m map[string]V, val func(V) error) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	e.buf = append(e.buf, '{')
	for i, k := range keys {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = codec.AppendJSONString(e.buf, k)
		e.buf = append(e.buf, ':')
		if err := val(m[k]); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	return nil
}

func (e *encoder) reembed(dst []byte, v Value) []byte {
	var spans [][3]int
	walkObjects(v.raw, func(start, end int) {
		if num, ok := codec.ParsePlaceholder(v.raw[start:end]); ok && num < len(v.att) {
			for len(spans) > 0 && spans[len(spans)-1][0] >= start {
				spans = spans[:len(spans)-1]
			}
			spans = append(spans, [3]int{start, end, num})
		}
	})
	last := 0
	for _, sp := range spans {
		dst = append(dst, v.raw[last:sp[0]]...)
		e.buf = dst
		e.placeholder(v.att[sp[2]])
		dst = e.buf
		last = sp[1]
	}
	return append(dst, v.raw[last:]...)
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
	if len(e.atts) > 0 {
		p.Attachments = append([][]byte(nil), e.atts...)
	}
	return p, ack, nil
}
