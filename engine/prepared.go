package engine

import (
	"encoding/base64"
	"sync"
	"sync/atomic"

	"github.com/gobwas/ws"
	"github.com/klauspost/compress/flate"

	"github.com/fanio/fanio/internal/codec"
)

// Prepared is a batch of messages encoded once per transport form — a run of
// WebSocket frames and a run of polling records — so that sending it to many
// sessions writes the same bytes to each without copying. It is immutable
// once built and safe for concurrent use.
type Prepared struct {
	frames    []byte // WebSocket frames, back to back
	records   []byte // polling records joined by 0x1e
	count     int    // messages
	size      int    // their data's bytes, for the counters
	hasBinary bool

	// The Engine.IO v3 forms, created by the first v3 session it is sent
	// to (prepared3.go): sending to v4 sessions only never builds them.
	v3 atomic.Pointer[preparedV3]

	// Only when compression was asked for: where each frame's payload lies in
	// frames, to build the permessage-deflate variant on first use.
	spans    []frameSpan
	defOnce  sync.Once
	defFrame []byte
}

type frameSpan struct {
	start, end int
	op         ws.OpCode
}

// NewPrepared encodes msgs. With compress, sessions that negotiated
// permessage-deflate get a compressed variant (built once, lazily) for
// messages of at least threshold bytes.
func NewPrepared(msgs []Message, compress bool) *Prepared {
	p := &Prepared{count: len(msgs)}
	fsz, rsz := 0, 0
	for _, m := range msgs {
		p.size += len(m.Data)
		fsz += ws.MaxHeaderSize + 1 + len(m.Data)
		rsz += 2 + base64.StdEncoding.EncodedLen(len(m.Data))
	}
	p.frames = make([]byte, 0, fsz)
	p.records = make([]byte, 0, rsz)
	if compress {
		p.spans = make([]frameSpan, 0, len(msgs))
	}
	for i, m := range msgs {
		var span frameSpan
		if m.Binary {
			p.hasBinary = true
			p.frames = codec.AppendFrameHeader(p.frames, true, ws.OpBinary, false, len(m.Data))
			span = frameSpan{start: len(p.frames), op: ws.OpBinary}
			p.frames = append(p.frames, m.Data...)
		} else {
			p.frames = codec.AppendFrameHeader(p.frames, true, ws.OpText, false, len(m.Data)+1)
			span = frameSpan{start: len(p.frames), op: ws.OpText}
			p.frames = append(p.frames, '4')
			p.frames = append(p.frames, m.Data...)
		}
		span.end = len(p.frames)
		if compress {
			p.spans = append(p.spans, span)
		}
		if i > 0 {
			p.records = append(p.records, codec.RecordSeparator)
		}
		p.records = appendRecord(p.records, m.Data, m.Binary)
	}
	return p
}

// appendRecord appends one MESSAGE in polling form.
func appendRecord(dst, data []byte, binary bool) []byte {
	if binary {
		return codec.AppendPollingBinary(dst, data)
	}
	return codec.AppendPacket(dst, codec.EIOMessage, data)
}

// deflated returns the frames with payloads of at least threshold bytes
// compressed (RSV1 set).
func (p *Prepared) deflated(threshold int) []byte {
	if p.spans == nil {
		return p.frames
	}
	p.defOnce.Do(func() {
		var out []byte
		for _, sp := range p.spans {
			out = appendMaybeDeflatedFrame(out, sp.op, p.frames[sp.start:sp.end], threshold)
		}
		p.defFrame = out
	})
	return p.defFrame
}

// appendMaybeDeflatedFrame appends one frame of payload, compressed when it
// is at least threshold bytes and compression makes it smaller.
func appendMaybeDeflatedFrame(dst []byte, op ws.OpCode, payload []byte, threshold int) []byte {
	if len(payload) >= threshold {
		if z, ok := deflate(payload); ok {
			dst = codec.AppendFrameHeader(dst, true, op, true, len(z.b))
			dst = append(dst, z.b...)
			z.release()
			return dst
		}
	}
	dst = codec.AppendFrameHeader(dst, true, op, false, len(payload))
	return append(dst, payload...)
}

type deflater struct {
	w *flate.Writer
	b []byte
}

func (d *deflater) Write(p []byte) (int, error) {
	d.b = append(d.b, p...)
	return len(p), nil
}

func (d *deflater) release() {
	if cap(d.b) > 256<<10 {
		d.b = nil
	}
	deflaters.Put(d)
}

// Compressors are pooled, never kept per connection: a flate writer is
// hundreds of KB, and without context takeover one serves any connection.
var deflaters = sync.Pool{New: func() any {
	d := &deflater{}
	d.w, _ = flate.NewWriter(d, flate.BestSpeed)
	return d
}}

// deflate compresses payload as one permessage-deflate message (no context
// takeover). ok is false if the result would not be smaller.
func deflate(payload []byte) (*deflater, bool) {
	d := deflaters.Get().(*deflater)
	d.b = d.b[:0]
	d.w.Reset(d)
	_, _ = d.w.Write(payload)
	_ = d.w.Flush()
	// Strip the 00 00 ff ff tail of the sync flush (RFC 7692 §7.2.1).
	if n := len(d.b); n >= 4 && d.b[n-4] == 0 && d.b[n-3] == 0 && d.b[n-2] == 0xff && d.b[n-1] == 0xff {
		d.b = d.b[:n-4]
	}
	if len(d.b) >= len(payload) {
		d.release()
		return nil, false
	}
	return d, true
}
