package engine

import (
	"github.com/gobwas/ws"

	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/pool"
)

// preparedV3 holds the Engine.IO v3 forms of a Prepared, each built once,
// on first use, from the v4 WebSocket frames: v3 text payload records,
// XHR2 binary payload records, and WebSocket frames with binary messages
// as <0x04><data> (or, for clients that asked for base64, as text
// "b4<base64>"). A Prepared without binary messages shares its v4 frames:
// text frames are the same in both versions.
type preparedV3 struct {
	text, xhr2        lazyBytes
	frames, b64       lazyBytes
	defFrames, defB64 lazyBytes
}

// eachMessage calls fn with each message of p, read back from its frames.
func (p *Prepared) eachMessage(fn func(data []byte, binary bool)) {
	p.eachFrame(func(op ws.OpCode, payload []byte) {
		if op == ws.OpBinary {
			fn(payload, true)
		} else {
			fn(payload[1:], false) // after the '4'
		}
	})
}

// v3Text returns p as the records of a v3 text payload: "<len>:4<data>",
// binary messages as "<len>:b4<base64>".
func (p *Prepared) v3Text() []byte {
	return p.lazyForms().v3.text.get(func() []byte {
		n := 0
		p.eachMessage(func(data []byte, binary bool) { n += codec.V3RecordLen(data, binary) })
		out := make([]byte, 0, n)
		p.eachMessage(func(data []byte, binary bool) { out = appendV3Record(out, data, binary) })
		return out
	})
}

// v3XHR2 returns p as the records of a v3 binary (XHR2) payload.
func (p *Prepared) v3XHR2() []byte {
	return p.lazyForms().v3.xhr2.get(func() []byte {
		n := 0
		p.eachMessage(func(data []byte, _ bool) { n += codec.XHR2RecordLen(data) })
		out := make([]byte, 0, n)
		p.eachMessage(func(data []byte, binary bool) { out = appendXHR2Record(out, data, binary) })
		return out
	})
}

// v3Frames returns p as v3 WebSocket frames: binary messages carry the
// packet type byte, or with b64 go as text "b4<base64>"; with deflate,
// messages of at least threshold bytes are compressed.
func (p *Prepared) v3Frames(b64, deflate bool, threshold int) []byte {
	if !p.hasBinary {
		if deflate {
			return p.deflated(threshold)
		}
		return p.frames
	}
	deflate = deflate && p.compress
	f := &p.lazyForms().v3
	build := func(compress bool) []byte {
		var out []byte
		p.eachMessage(func(data []byte, binary bool) {
			out = appendV3Frame(out, codec.EIOMessage, data, binary, b64, compress, threshold)
		})
		return out
	}
	switch {
	case b64 && deflate:
		return f.defB64.get(func() []byte { return build(true) })
	case b64:
		return f.b64.get(func() []byte { return build(false) })
	case deflate:
		return f.defFrames.get(func() []byte { return build(true) })
	default:
		return f.frames.get(func() []byte { return build(false) })
	}
}

// appendV3Record appends one MESSAGE as a v3 text payload record.
func appendV3Record(dst, data []byte, binary bool) []byte {
	if binary {
		return codec.AppendV3BinaryRecord(dst, codec.EIOMessage, data)
	}
	return codec.AppendV3Record(dst, codec.EIOMessage, data)
}

// appendXHR2Record appends one MESSAGE as a v3 XHR2 payload record.
func appendXHR2Record(dst, data []byte, binary bool) []byte {
	if binary {
		return codec.AppendXHR2Binary(dst, codec.EIOMessage, data)
	}
	return codec.AppendXHR2Text(dst, codec.EIOMessage, data)
}

// appendV3Frame appends one packet as a v3 WebSocket frame: text as
// "<type digit><data>", binary as <type byte><data> in a binary frame, or
// with b64 as text "b<type digit><base64>". With deflate, a payload of at
// least threshold bytes is compressed.
func appendV3Frame(dst []byte, typ codec.EIOType, data []byte, binary, b64, deflate bool, threshold int) []byte {
	op, n := ws.OpText, 1+len(data)
	switch {
	case binary && b64:
		n = codec.Base64PacketLen(len(data))
	case binary:
		op = ws.OpBinary
	}
	if deflate && n >= threshold {
		tmp := pool.Get()
		tmp.B = appendV3Payload(tmp.B, typ, data, binary, b64)
		dst = appendMaybeDeflatedFrame(dst, op, tmp.B, threshold)
		pool.Put(tmp)
		return dst
	}
	dst = codec.AppendFrameHeader(dst, true, op, false, n)
	return appendV3Payload(dst, typ, data, binary, b64)
}

func appendV3Payload(dst []byte, typ codec.EIOType, data []byte, binary, b64 bool) []byte {
	switch {
	case binary && b64:
		return codec.AppendBase64Packet(dst, typ, data)
	case binary:
		dst = append(dst, byte(typ))
		return append(dst, data...)
	default:
		return codec.AppendPacket(dst, typ, data)
	}
}
