package loadgen

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// WebSocket opcodes (RFC 6455).
const (
	opCont   = 0x0
	opText   = 0x1
	opBinary = 0x2
	opClose  = 0x8
	opPing   = 0x9
	opPong   = 0xA
)

const (
	wsGUID      = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
	maxHdr      = 14      // largest client frame header: 2 + 8 + 4 (mask)
	maxFrame    = 8 << 20 // refuse server frames above 8 MiB
	readBufSize = 4096
	ringSize    = 1024 // outstanding acks remembered per connection
)

var errClosedByServer = errors.New("closed by server")

// Connection roles: what the read loop does with acks.
const (
	roleSub = iota // joined room r; counts deliveries
	roleEcho
	rolePub
)

// ackSlot remembers when an ack id was sent (echo round trips).
type ackSlot struct {
	id atomic.Uint64
	t  atomic.Int64
}

// wsConn is a compact Engine.IO v4 / Socket.IO v5 client over WebSocket.
// The read side is owned by one goroutine and never allocates for frames
// that fit its buffer; writes are serialised by wmu and reuse wb.
type wsConn struct {
	nc *net.TCPConn
	wk *Worker

	rb   []byte
	r, w int
	frag []byte
	fop  byte

	wmu  sync.Mutex
	wb   []byte
	mask uint32

	role    int
	nextAck atomic.Uint64
	ring    *[ringSize]ackSlot
	barrier chan uint64
	closing atomic.Bool
}

func newMaskSeed() uint32 {
	s := uint32(nanotime()) | 1
	return s ^ 0x9E3779B9
}

// dialWS opens a TCP connection from src to addr and performs the WebSocket
// upgrade for path (Engine.IO query string included); headers are extra
// request header lines, each ending in CRLF. Leftover bytes after the 101
// response stay buffered.
func dialWS(w *Worker, src net.IP, addr, path, sid, headers string, timeout time.Duration) (*wsConn, error) {
	d := net.Dialer{Timeout: timeout}
	if src != nil {
		d.LocalAddr = &net.TCPAddr{IP: src}
	}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	tc := nc.(*net.TCPConn)
	c := &wsConn{nc: tc, wk: w, rb: make([]byte, readBufSize), wb: make([]byte, 0, 256), mask: newMaskSeed()}
	_ = tc.SetDeadline(time.Now().Add(timeout))

	var key wsKey
	key.init(c.nextMask)
	req := appendUpgradeRequest(make([]byte, 0, 256), path, []byte(sid), addr, key.key[:])
	if headers != "" {
		req = append(req[:len(req)-2], headers...) // before the blank line
		req = append(req, "\r\n"...)
	}
	if _, err := tc.Write(req); err != nil {
		tc.Close()
		return nil, err
	}
	// Read the response head.
	for {
		if n, err := key.checkResponse(c.rb[:c.w]); n > 0 || err != nil {
			if err != nil {
				tc.Close()
				return nil, fmt.Errorf("websocket upgrade: %w", err)
			}
			c.r = n
			return c, nil
		}
		if c.w == len(c.rb) {
			tc.Close()
			return nil, errors.New("websocket upgrade: response head too large")
		}
		n, err := tc.Read(c.rb[c.w:])
		c.w += n
		if err != nil && n == 0 {
			tc.Close()
			return nil, fmt.Errorf("websocket upgrade: %w", err)
		}
	}
}

// wsKey is a Sec-WebSocket-Key and the Sec-WebSocket-Accept the server must
// answer with (RFC 6455 §4.1), both base64 text.
type wsKey struct {
	key    [24]byte
	accept [28]byte
}

// init draws a fresh random key from rnd and computes its accept value,
// without allocating.
func (k *wsKey) init(rnd func() uint32) {
	var raw [16]byte
	for i := 0; i < 16; i += 4 {
		binary.LittleEndian.PutUint32(raw[i:], rnd())
	}
	base64.StdEncoding.Encode(k.key[:], raw[:])
	var in [len(k.key) + len(wsGUID)]byte
	copy(in[copy(in[:], k.key[:]):], wsGUID)
	sum := sha1.Sum(in[:])
	base64.StdEncoding.Encode(k.accept[:], sum[:])
}

// checkResponse looks for the complete response head of an upgrade at the
// start of b. It returns n = 0 and no error while the head is incomplete,
// an error unless it is a 101 carrying this key's Sec-WebSocket-Accept, and
// otherwise the head's length (bytes after it are WebSocket frames).
func (k *wsKey) checkResponse(b []byte) (n int, err error) {
	i := bytes.Index(b, []byte("\r\n\r\n"))
	if i < 0 {
		return 0, nil
	}
	head := b[:i]
	if !bytes.HasPrefix(head, []byte("HTTP/1.1 101")) {
		line := head
		if j := bytes.IndexByte(line, '\r'); j >= 0 {
			line = line[:j]
		}
		return 0, fmt.Errorf("refused: %q", line)
	}
	if v, ok := headerValue(head, "sec-websocket-accept:"); !ok || !bytes.Equal(v, k.accept[:]) {
		return 0, errors.New("bad Sec-WebSocket-Accept")
	}
	return i + 4, nil
}

// headerValue returns the value, trimmed of blanks, of the first header
// line of head whose name matches name (lower case, colon included).
func headerValue(head []byte, name string) ([]byte, bool) {
	for line := head; len(line) > 0; {
		l := line
		if i := bytes.Index(line, []byte("\r\n")); i >= 0 {
			l, line = line[:i], line[i+2:]
		} else {
			line = nil
		}
		if hasPrefixFold(l, name) {
			return bytes.Trim(l[len(name):], " \t"), true
		}
	}
	return nil, false
}

// appendUpgradeRequest appends the HTTP request of a WebSocket upgrade to
// the Engine.IO endpoint at path (sid: the session to upgrade, or none).
func appendUpgradeRequest(b []byte, path string, sid []byte, host string, key []byte) []byte {
	b = append(b, "GET "...)
	b = append(b, path...)
	b = append(b, "?EIO=4&transport=websocket"...)
	if len(sid) > 0 {
		b = append(b, "&sid="...)
		b = append(b, sid...)
	}
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "...)
	b = append(b, key...)
	return append(b, "\r\nSec-WebSocket-Version: 13\r\n\r\n"...)
}

func (c *wsConn) nextMask() uint32 { return xorshift32(&c.mask) }

// xorshift32 advances the state and returns it: masking keys only need to
// vary, not to be secret, so a cheap generator will do.
func xorshift32(state *uint32) uint32 {
	x := *state
	x ^= x << 13
	x ^= x >> 17
	x ^= x << 5
	*state = x
	return x
}

// fill reads more bytes into rb, compacting or growing it so that at least
// need bytes fit after c.r.
func (c *wsConn) fill(need int) error {
	if c.r == c.w {
		c.r, c.w = 0, 0
	}
	if c.r+need > len(c.rb) {
		if need > len(c.rb) {
			nb := make([]byte, need+readBufSize) // large frame: rare path
			c.w = copy(nb, c.rb[c.r:c.w])
			c.rb = nb
		} else {
			c.w = copy(c.rb, c.rb[c.r:c.w])
		}
		c.r = 0
	}
	n, err := c.nc.Read(c.rb[c.w:])
	c.w += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// nextFrame returns the next complete frame; payload aliases rb and is valid
// until the next call.
func (c *wsConn) nextFrame() (fin bool, op byte, payload []byte, err error) {
	for {
		fin, op, payload, n, need, err := parseFrame(c.rb[c.r:c.w])
		if err != nil {
			return false, 0, nil, err
		}
		if n > 0 {
			c.r += n
			return fin, op, payload, nil
		}
		if err := c.fill(need); err != nil {
			return false, 0, nil, err
		}
	}
}

// parseFrame decodes the frame at the start of buf, unmasking its payload
// in place. n is the frame's length, 0 while it is incomplete; need is then
// the number of bytes known to be required (at least len(buf)+1). payload
// aliases buf.
func parseFrame(buf []byte) (fin bool, op byte, payload []byte, n, need int, err error) {
	need = 2
	if len(buf) < need {
		return false, 0, nil, 0, need, nil
	}
	b1 := buf[1]
	plen := uint64(b1 & 0x7f)
	switch plen {
	case 126:
		need = 4
	case 127:
		need = 10
	}
	masked := b1&0x80 != 0
	if masked {
		need += 4
	}
	if len(buf) < need {
		return false, 0, nil, 0, need, nil
	}
	switch plen {
	case 126:
		plen = uint64(binary.BigEndian.Uint16(buf[2:]))
	case 127:
		plen = binary.BigEndian.Uint64(buf[2:])
	}
	if plen > maxFrame {
		return false, 0, nil, 0, 0, fmt.Errorf("server frame of %d bytes", plen)
	}
	total := need + int(plen)
	if len(buf) < total {
		return false, 0, nil, 0, total, nil
	}
	payload = buf[need:total]
	if masked {
		var key [4]byte
		copy(key[:], buf[need-4:need])
		maskBytes(payload, key)
	}
	return buf[0]&0x80 != 0, buf[0] & 0x0f, payload, total, 0, nil
}

// nextMessage returns the next data message (text or binary), answering
// WebSocket pings and reassembling fragments on the way.
func (c *wsConn) nextMessage() (op byte, p []byte, err error) {
	for {
		fin, fop, payload, err := c.nextFrame()
		if err != nil {
			return 0, nil, err
		}
		switch fop {
		case opText, opBinary:
			if fin {
				return fop, payload, nil
			}
			c.fop = fop
			c.frag = append(c.frag[:0], payload...)
		case opCont:
			c.frag = append(c.frag, payload...)
			if fin {
				return c.fop, c.frag, nil
			}
		case opPing:
			b := c.begin()
			b = append(b, payload...)
			if err := c.end(b, opPong); err != nil {
				return 0, nil, err
			}
		case opPong:
		case opClose:
			b := c.begin()
			_ = c.end(b, opClose)
			return 0, nil, errClosedByServer
		default:
			return 0, nil, fmt.Errorf("unknown websocket opcode %d", fop)
		}
	}
}

// begin locks the write side and returns the reusable frame buffer with
// room reserved for the header; append the payload and call end.
func (c *wsConn) begin() []byte {
	c.wmu.Lock()
	return c.wb[:maxHdr]
}

// end frames, masks and writes the payload appended after begin, then
// unlocks the write side.
func (c *wsConn) end(b []byte, op byte) error {
	p := b[maxHdr:]
	n := len(p)
	var start int
	switch {
	case n < 126:
		start = maxHdr - 6
		b[start+1] = 0x80 | byte(n)
	case n < 65536:
		start = maxHdr - 8
		b[start+1] = 0x80 | 126
		binary.BigEndian.PutUint16(b[start+2:], uint16(n))
	default:
		start = maxHdr - 14
		b[start+1] = 0x80 | 127
		binary.BigEndian.PutUint64(b[start+2:], uint64(n))
	}
	b[start] = 0x80 | op
	k := c.nextMask()
	binary.LittleEndian.PutUint32(b[maxHdr-4:], k)
	var key [4]byte
	binary.LittleEndian.PutUint32(key[:], k)
	maskBytes(p, key)
	_, err := c.nc.Write(b[start:])
	c.wb = b[:0]
	c.wmu.Unlock()
	return err
}

// maskBytes XORs p with the 4-byte key, 8 bytes at a time.
func maskBytes(p []byte, key [4]byte) {
	k32 := binary.LittleEndian.Uint32(key[:])
	k64 := uint64(k32) | uint64(k32)<<32
	i := 0
	for ; i+8 <= len(p); i += 8 {
		binary.LittleEndian.PutUint64(p[i:], binary.LittleEndian.Uint64(p[i:])^k64)
	}
	for ; i < len(p); i++ {
		p[i] ^= key[i&3]
	}
}

// sendText writes one text message (setup paths; allocation-free too).
func (c *wsConn) sendText(s []byte) error {
	b := c.begin()
	b = append(b, s...)
	return c.end(b, opText)
}

func (c *wsConn) pong() error {
	b := c.begin()
	b = append(b, eioPong)
	return c.end(b, opText)
}

// waitFor reads Engine.IO packets until match returns true, answering pings
// meanwhile. Used during setup only.
func (c *wsConn) waitFor(what string, match func(p []byte) bool) ([]byte, error) {
	for {
		op, p, err := c.nextMessage()
		if err != nil {
			return nil, fmt.Errorf("waiting for %s: %w", what, err)
		}
		if op != opText || len(p) == 0 {
			continue
		}
		if match(p) {
			return p, nil
		}
		switch p[0] {
		case eioPing:
			if err := c.pong(); err != nil {
				return nil, err
			}
		case eioClose:
			return nil, fmt.Errorf("waiting for %s: engine.io close", what)
		case eioMessage:
			if len(p) > 1 && p[1] == sioConnectError {
				return nil, fmt.Errorf("waiting for %s: connect error %s", what, p[2:])
			}
			c.wk.handleSIO(c, p[1:]) // e.g. a broadcast arriving while joining
		}
	}
}

// connectSIO does the Engine.IO open + Socket.IO CONNECT to "/" on a fresh
// WebSocket (no sid): reads `0{...}`, sends `40`, waits for `40{"sid"...}`.
func (c *wsConn) connectSIO() error {
	if _, err := c.waitFor("engine.io open", func(p []byte) bool { return p[0] == eioOpen }); err != nil {
		return err
	}
	return c.sioConnectOnly()
}

func (c *wsConn) sioConnectOnly() error {
	if err := c.sendText([]byte("40")); err != nil {
		return err
	}
	_, err := c.waitFor("socket.io connect", func(p []byte) bool {
		return len(p) >= 3 && p[0] == eioMessage && p[1] == sioConnect && p[2] == '{'
	})
	return err
}

// appHeaders are the request headers of a real application's client that
// the /app namespace's middleware reads (a browser always sends one).
const appHeaders = "User-Agent: Mozilla/5.0 (X11; Linux x86_64) fanio-bench/1\r\n"

// connectApp does the Engine.IO open, then a Socket.IO CONNECT to /app
// with an auth payload carrying token, and waits for `40/app,{"sid"...}`.
func (c *wsConn) connectApp(token string) error {
	if _, err := c.waitFor("engine.io open", func(p []byte) bool { return p[0] == eioOpen }); err != nil {
		return err
	}
	b := c.begin()
	b = append(b, `40/app,{"token":"`...)
	b = append(b, token...)
	b = append(b, `"}`...)
	if err := c.end(b, opText); err != nil {
		return err
	}
	_, err := c.waitFor("socket.io connect to /app", func(p []byte) bool {
		return bytes.HasPrefix(p, []byte(`40/app,{`))
	})
	return err
}

// join emits join("r") with an ack and waits for it.
func (c *wsConn) join(room string) error {
	id := c.nextAck.Add(1)
	b := c.begin()
	b = append(b, "42"...)
	b = appendUint(b, id)
	b = append(b, `["join","`...)
	b = append(b, room...)
	b = append(b, `"]`...)
	if err := c.end(b, opText); err != nil {
		return err
	}
	_, err := c.waitFor("join ack", func(p []byte) bool {
		if len(p) < 2 || p[0] != eioMessage {
			return false
		}
		got, ok := ackID(p[1:])
		return ok && got == id
	})
	return err
}

// readLoop handles traffic until the connection ends.
func (c *wsConn) readLoop() error {
	for {
		op, p, err := c.nextMessage()
		if err != nil {
			return err
		}
		if op != opText || len(p) == 0 {
			continue
		}
		switch p[0] {
		case eioMessage:
			c.wk.handleSIO(c, p[1:])
		case eioPing:
			if err := c.pong(); err != nil {
				return err
			}
		case eioClose:
			return errClosedByServer
		}
	}
}

// onAck is called by the read loop for `43<id>...`.
func (c *wsConn) onAck(id uint64) {
	switch c.role {
	case roleEcho:
		s := &c.ring[id%ringSize]
		if s.id.Load() == id {
			c.wk.recordAck(nanotime() - s.t.Load())
		} else {
			c.wk.late.Add(1)
		}
	case rolePub:
		select {
		case c.barrier <- id:
		default:
		}
	}
}

// sendEcho emits echo("<pad>") with a fresh ack id and remembers the time.
func (c *wsConn) sendEcho(size int) error {
	b := c.begin()
	id := c.nextAck.Add(1)
	b = append(b, "42"...)
	b = appendUint(b, id)
	b = append(b, `["echo","`...)
	b = appendPad(b, size)
	b = append(b, `"]`...)
	s := &c.ring[id%ringSize]
	s.t.Store(nanotime())
	s.id.Store(id)
	return c.end(b, opText)
}

// sendBlock emits block(ms) with a fresh ack id and remembers the time: the
// server's handler blocks for ms, then acks.
func (c *wsConn) sendBlock(ms int) error {
	b := c.begin()
	id := c.nextAck.Add(1)
	b = append(b, "42"...)
	b = appendUint(b, id)
	b = append(b, `["block",`...)
	b = appendUint(b, uint64(ms))
	b = append(b, ']')
	s := &c.ring[id%ringSize]
	s.t.Store(nanotime())
	s.id.Store(id)
	return c.end(b, opText)
}

// sendPub emits pub("<now> <pad>").
func (c *wsConn) sendPub(size int) error {
	b := c.begin()
	b = appendPub(b, nanotime(), c.wk.epoch.Load(), size)
	return c.end(b, opText)
}

// sendBarrier emits echo() with an ack id; the ack tells the publisher the
// server has processed every pub sent before it.
func (c *wsConn) sendBarrier() (uint64, error) {
	b := c.begin()
	id := c.nextAck.Add(1)
	b = append(b, "42"...)
	b = appendUint(b, id)
	b = append(b, `["echo"]`...)
	return id, c.end(b, opText)
}

func (c *wsConn) close() {
	c.closing.Store(true)
	c.nc.Close()
}
