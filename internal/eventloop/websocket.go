package eventloop

import (
	"errors"
	"io"

	"github.com/gobwas/ws"
	"github.com/klauspost/compress/flate"

	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/pool"
)

// wsState is the WebSocket read state of one connection.
type wsState struct {
	mask       [4]byte // of a data frame whose payload arrives over several reads
	deflate    bool
	fragmented bool // a fragmented message is in progress
	msgBinary  bool
	msgDeflate bool
	msg        *pool.Buffer // message being assembled (fragments or a big frame)
	remaining  int64        // payload bytes of that frame still to come
	maskOff    uint8        // position in mask, mod 4
	frameFin   bool
}

func (w *wsState) release() {
	pool.Put(w.msg)
	w.msg = nil
}

// AcceptWebSocket switches c to WebSocket after queueing resp (the 101
// answer, ownership passes). Call it only from Handler.ServeHTTP. owner
// receives the messages; deflate says permessage-deflate was negotiated.
func (c *Conn) AcceptWebSocket(resp *pool.Buffer, owner Owner, deflate bool) {
	c.awaiting = false
	c.stopTimer(true) // liveness of a WebSocket is the owner's (heartbeats)
	c.ws.deflate = deflate
	c.mu.Lock()
	c.mode = modeWebSocket // under c.mu: writers on other goroutines read it (canWriteNowLocked)
	c.owner = owner
	c.mu.Unlock()
	_ = c.WriteOwned(resp)
}

// Run runs fn on the connection's loop (for a connection served on
// goroutines, holding its lock), after what the loop is doing now; safe
// from any goroutine. fn may then call what only loop code may, such as
// AcceptWebSocket for a request whose answer came from elsewhere (a held
// upgrade); it must check Closed itself, since the connection may have gone
// meanwhile (on a connection served on goroutines, fn does not run at all
// once the connection is gone: callers bound what they wait for). It
// returns an error, and fn does not run, when the loop is stopping.
func (c *Conn) Run(fn func()) error {
	return c.loop.exec.Execute(func() {
		c.loop.traffic(c, func(*Conn) { fn() })
	})
}

func (c *Conn) readWebSocket() {
	maxMsg := int64(c.loop.srv.cfg.MaxMessageBytes)
	for {
		if c.Closed() {
			c.discard(-1)
			return
		}
		if c.readPaused.Load() {
			return // PauseReads: what is buffered waits for ResumeReads
		}
		if c.ws.remaining > 0 {
			avail := c.buffered()
			if avail == 0 {
				return
			}
			take := int(min(int64(avail), c.ws.remaining))
			b, err := c.peek(take)
			if err != nil {
				return
			}
			codec.Unmask(b, c.ws.mask, int(c.ws.maskOff))
			c.ws.maskOff = uint8((int(c.ws.maskOff) + take) & 3)
			c.ws.msg.B = append(c.ws.msg.B, b...)
			c.discard(take)
			c.ws.remaining -= int64(take)
			if c.ws.remaining > 0 {
				return
			}
			if c.ws.frameFin {
				c.ws.fragmented = false
				c.deliver(c.ws.msg.B, c.ws.msgBinary, c.ws.msgDeflate)
				c.ws.release()
			} else {
				c.ws.fragmented = true
			}
			continue
		}
		buf, _ := c.peek(-1)
		if len(buf) == 0 {
			return
		}
		h, hn, err := codec.ParseFrameHeader(buf)
		if err == codec.ErrIncomplete {
			return
		}
		if err == nil {
			err = codec.CheckClientFrame(h, c.ws.fragmented, c.ws.deflate)
		}
		if err != nil {
			c.failWebSocket(ws.StatusProtocolError, "protocol error", ErrProtocol)
			return
		}
		isControl := h.OpCode.IsControl()
		if !isControl {
			size := h.Length
			if c.ws.fragmented && c.ws.msg != nil {
				size += int64(len(c.ws.msg.B))
			}
			if size > maxMsg {
				c.failWebSocket(ws.StatusMessageTooBig, "message too big", ErrMessageTooBig)
				return
			}
		}
		if int64(len(buf)-hn) < h.Length {
			if isControl {
				return // at most 125 bytes: wait for all of it
			}
			// Stream the payload into a buffer instead of re-peeking a growing message.
			if !c.ws.fragmented {
				c.startMessage(h)
			}
			c.discard(hn)
			c.ws.remaining = h.Length
			c.ws.mask = h.Mask
			c.ws.maskOff = 0
			c.ws.frameFin = h.Fin
			continue
		}
		total := hn + int(h.Length)
		payload := buf[hn:total]
		codec.Unmask(payload, h.Mask, 0)
		if isControl {
			c.control(h.OpCode, payload)
		} else if !c.ws.fragmented && h.Fin {
			// The common case: a whole message in one frame, delivered in place.
			c.deliver(payload, h.OpCode == ws.OpBinary, h.Rsv1())
		} else {
			if !c.ws.fragmented {
				c.startMessage(h)
			}
			c.ws.msg.B = append(c.ws.msg.B, payload...)
			c.ws.fragmented = !h.Fin
			if h.Fin {
				c.deliver(c.ws.msg.B, c.ws.msgBinary, c.ws.msgDeflate)
				c.ws.release()
			}
		}
		c.discard(total)
	}
}

func (c *Conn) startMessage(h ws.Header) {
	if c.ws.msg == nil {
		c.ws.msg = pool.Get()
	}
	c.ws.msg.B = c.ws.msg.B[:0]
	c.ws.msgBinary = h.OpCode == ws.OpBinary
	c.ws.msgDeflate = h.Rsv1()
	c.ws.fragmented = true
}

func (c *Conn) control(op ws.OpCode, payload []byte) {
	switch op {
	case ws.OpPing:
		bb := pool.Get()
		bb.B = codec.AppendFrame(bb.B, ws.OpPong, payload)
		_ = c.WriteOwned(bb)
	case ws.OpPong:
	case ws.OpClose:
		code, _, err := codec.ParseClosePayload(payload)
		if err != nil {
			// 1002, or 1007 for a reason that is not UTF-8 (RFC 6455 section
			// 8.1, as Autobahn checks).
			c.failWebSocket(codec.CloseCodeFor(err), "bad close frame", ErrProtocol)
			return
		}
		if code == ws.StatusNoStatusRcvd {
			code = ws.StatusNormalClosure
		}
		// Echo the close and end; the peer closing is a clean close.
		c.CloseWebSocket(code, "", nil)
	}
}

// deliver hands one complete message to the owner.
func (c *Conn) deliver(data []byte, binary, compressed bool) {
	if compressed {
		out, err := c.loop.infl.inflate(data, c.loop.srv.cfg.MaxMessageBytes)
		if err != nil {
			if errors.Is(err, ErrMessageTooBig) {
				c.failWebSocket(ws.StatusMessageTooBig, "message too big", ErrMessageTooBig)
			} else {
				c.failWebSocket(ws.StatusInvalidFramePayloadData, "bad deflate data", ErrInvalidPayload)
			}
			return
		}
		data = out
	}
	if !binary && !codec.ValidUTF8(data) {
		c.failWebSocket(ws.StatusInvalidFramePayloadData, "invalid utf-8", ErrInvalidPayload)
		return
	}
	c.mu.Lock()
	owner := c.owner
	c.mu.Unlock()
	if owner != nil {
		owner.OnMessage(c, data, binary)
	}
	c.loop.infl.trim()
}

func (c *Conn) failWebSocket(code ws.StatusCode, reason string, err error) {
	c.discard(-1)
	c.ws.remaining = 0
	c.CloseWebSocket(code, reason, err)
}

// inflater decompresses permessage-deflate messages; one per loop, since
// contexts are never taken over between messages.
type inflater struct {
	r   io.ReadCloser
	src tailReader
	out []byte
}

// deflateTail ends a message's raw deflate stream (RFC 7692 §7.2.2), then an
// empty final stored block so the reader reports a clean EOF.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

func (f *inflater) inflate(p []byte, limit int) ([]byte, error) {
	f.src = tailReader{a: p, b: deflateTail}
	if f.r == nil {
		f.r = flate.NewReader(&f.src)
	} else if err := f.r.(flate.Resetter).Reset(&f.src, nil); err != nil {
		return nil, err
	}
	out := f.out[:0]
	for {
		if len(out) == cap(out) {
			if len(out) > limit {
				return nil, ErrMessageTooBig
			}
			out = append(out, 0)[:len(out)]
		}
		n, err := f.r.Read(out[len(out):cap(out)])
		out = out[:len(out)+n]
		if len(out) > limit {
			return nil, ErrMessageTooBig
		}
		if err == io.EOF {
			f.out = out
			return out, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func (f *inflater) trim() {
	if cap(f.out) > 256<<10 {
		f.out = nil
	}
}

// tailReader reads a then b without allocating.
type tailReader struct{ a, b []byte }

func (t *tailReader) Read(p []byte) (int, error) {
	if len(t.a) == 0 && len(t.b) == 0 {
		return 0, io.EOF
	}
	n := 0
	if len(t.a) > 0 {
		n = copy(p, t.a)
		t.a = t.a[n:]
	}
	if n < len(p) {
		m := copy(p[n:], t.b)
		t.b = t.b[m:]
		n += m
	}
	return n, nil
}

func (t *tailReader) ReadByte() (byte, error) {
	if len(t.a) > 0 {
		c := t.a[0]
		t.a = t.a[1:]
		return c, nil
	}
	if len(t.b) > 0 {
		c := t.b[0]
		t.b = t.b[1:]
		return c, nil
	}
	return 0, io.EOF
}
