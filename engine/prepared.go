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
	compress  bool   // a permessage-deflate variant may be built
	hasBinary bool

	// The forms few broadcasts need, built on first use from frames (and
	// only then allocated): the permessage-deflate variant, and the Engine.IO
	// v3 forms (prepared3.go). A broadcast to uncompressed v4 sessions pays
	// for none of them.
	lazy atomic.Pointer[preparedLazy]
}

// preparedLazy holds the forms of a Prepared built on first use.
type preparedLazy struct {
	deflated lazyBytes
	v3       preparedV3
}

type lazyBytes struct {
	once sync.Once
	b    []byte
}

func (l *lazyBytes) get(build func() []byte) []byte {
	l.once.Do(func() { l.b = build() })
	return l.b
}

func (p *Prepared) lazyForms() *preparedLazy {
	if v := p.lazy.Load(); v != nil {
		return v
	}
	p.lazy.CompareAndSwap(nil, &preparedLazy{})
	return p.lazy.Load()
}

// NewPrepared encodes msgs. With compress, sessions that negotiated
// permessage-deflate get a compressed variant (built once, lazily) for
// messages of at least threshold bytes.
func NewPrepared(msgs []Message, compress bool) *Prepared {
	p := &Prepared{count: len(msgs), compress: compress}
	fsz, rsz := 0, 0
	for _, m := range msgs {
		p.size += len(m.Data)
		fsz += ws.MaxHeaderSize + 1 + len(m.Data)
		rsz += 2 + base64.StdEncoding.EncodedLen(len(m.Data))
	}
	p.frames = make([]byte, 0, fsz)
	p.records = make([]byte, 0, rsz)
	for i, m := range msgs {
		if m.Binary {
			p.hasBinary = true
			p.frames = codec.AppendFrameHeader(p.frames, true, ws.OpBinary, false, len(m.Data))
			p.frames = append(p.frames, m.Data...)
		} else {
			p.frames = codec.AppendFrameHeader(p.frames, true, ws.OpText, false, len(m.Data)+1)
			p.frames = append(p.frames, '4')
			p.frames = append(p.frames, m.Data...)
		}
		if i > 0 {
			p.records = append(p.records, codec.RecordSeparator)
		}
		p.records = appendRecord(p.records, m.Data, m.Binary)
	}
	return p
}

// eachFrame calls fn with the opcode and payload of each frame of p (which
// this package wrote: complete, unmasked, well formed).
func (p *Prepared) eachFrame(fn func(op ws.OpCode, payload []byte)) {
	for b := p.frames; len(b) > 0; {
		h, n, err := codec.ParseFrameHeader(b)
		if err != nil {
			return
		}
		end := n + int(h.Length)
		fn(h.OpCode, b[n:end])
		b = b[end:]
	}
}

// appendRecord appends one MESSAGE in polling form.
func appendRecord(dst, data []byte, binary bool) []byte {
	if binary {
		return codec.AppendPollingBinary(dst, data)
	}
	return codec.AppendPacket(dst, codec.EIOMessage, data)
}

// deflated returns the frames with payloads of at least threshold bytes
// compressed (RSV1 set), or the frames as they are if p was not built for
// compression.
func (p *Prepared) deflated(threshold int) []byte {
	if !p.compress {
		return p.frames
	}
	return p.lazyForms().deflated.get(func() []byte {
		var out []byte
		p.eachFrame(func(op ws.OpCode, payload []byte) {
			out = appendMaybeDeflatedFrame(out, op, payload, threshold)
		})
		return out
	})
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
