package loadgen

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// httpConn is a keep-alive HTTP/1.1 client connection with hand-made
// requests and a reusable response buffer (Engine.IO long-polling).
type httpConn struct {
	nc   *net.TCPConn
	rb   []byte
	req  []byte
	addr string
}

func dialHTTP(src net.IP, addr string, timeout time.Duration) (*httpConn, error) {
	d := net.Dialer{Timeout: timeout}
	if src != nil {
		d.LocalAddr = &net.TCPAddr{IP: src}
	}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &httpConn{nc: nc.(*net.TCPConn), rb: make([]byte, readBufSize), req: make([]byte, 0, 512), addr: addr}, nil
}

// roundTrip writes req and reads one response; body aliases the connection's
// buffer until the next call.
func (h *httpConn) roundTrip(req []byte) (status int, body []byte, err error) {
	if _, err := h.nc.Write(req); err != nil {
		return 0, nil, err
	}
	w := 0
	headEnd := -1
	for headEnd < 0 {
		if w == len(h.rb) {
			nb := make([]byte, 2*len(h.rb))
			copy(nb, h.rb[:w])
			h.rb = nb
		}
		n, err := h.nc.Read(h.rb[w:])
		w += n
		if n == 0 && err != nil {
			return 0, nil, err
		}
		headEnd = bytes.Index(h.rb[:w], []byte("\r\n\r\n"))
	}
	st, clen, chunked, err := parseHead(h.rb[:headEnd])
	if err != nil {
		return 0, nil, err
	}
	start := headEnd + 4
	if chunked {
		return h.readChunked(st, start, w)
	}
	if clen < 0 {
		return 0, nil, errors.New("HTTP response without Content-Length")
	}
	end := start + clen
	if end > len(h.rb) {
		nb := make([]byte, end+readBufSize)
		copy(nb, h.rb[:w])
		h.rb = nb
	}
	for w < end {
		n, err := h.nc.Read(h.rb[w:])
		w += n
		if n == 0 && err != nil {
			return 0, nil, err
		}
	}
	return st, h.rb[start:end], nil
}

// parseHead reads the status, Content-Length (-1 if absent) and chunked
// transfer coding of an HTTP/1.x response head (without its blank line).
func parseHead(head []byte) (status, clen int, chunked bool, err error) {
	if len(head) < 12 || !bytes.HasPrefix(head, []byte("HTTP/1.")) {
		return 0, 0, false, errors.New("bad HTTP response")
	}
	st, _ := parseUint(head[9:12])
	clen = -1
	for line := head; len(line) > 0; {
		i := bytes.Index(line, []byte("\r\n"))
		var l []byte
		if i < 0 {
			l, line = line, nil
		} else {
			l, line = line[:i], line[i+2:]
		}
		if hasPrefixFold(l, "content-length:") {
			v, n := parseUint(bytes.TrimLeft(l[15:], " "))
			if n > 0 {
				clen = int(v)
			}
		} else if hasPrefixFold(l, "transfer-encoding:") && bytes.Contains(l, []byte("chunked")) {
			chunked = true
		}
	}
	return int(st), clen, chunked, nil
}

// readChunked decodes a chunked body in place (rare: the fixtures send
// Content-Length).
func (h *httpConn) readChunked(st, start, w int) (int, []byte, error) {
	out := start // write position of the decoded body
	pos := start
	for {
		// need a full size line
		for {
			if i := bytes.Index(h.rb[pos:w], []byte("\r\n")); i >= 0 {
				size := 0
				for _, c := range h.rb[pos : pos+i] {
					var d int
					switch {
					case c >= '0' && c <= '9':
						d = int(c - '0')
					case c >= 'a' && c <= 'f':
						d = int(c-'a') + 10
					case c >= 'A' && c <= 'F':
						d = int(c-'A') + 10
					default:
						goto done
					}
					size = size*16 + d
				}
			done:
				pos += i + 2
				for w < pos+size+2 {
					if pos+size+2 > len(h.rb) {
						nb := make([]byte, 2*(pos+size+2))
						copy(nb, h.rb[:w])
						h.rb = nb
					}
					n, err := h.nc.Read(h.rb[w:])
					w += n
					if n == 0 && err != nil {
						return 0, nil, err
					}
				}
				if size == 0 {
					return st, h.rb[start:out], nil
				}
				out += copy(h.rb[out:], h.rb[pos:pos+size])
				pos += size + 2
				break
			}
			if w == len(h.rb) {
				nb := make([]byte, 2*len(h.rb))
				copy(nb, h.rb[:w])
				h.rb = nb
			}
			n, err := h.nc.Read(h.rb[w:])
			w += n
			if n == 0 && err != nil {
				return 0, nil, err
			}
		}
	}
}

func hasPrefixFold(b []byte, p string) bool {
	if len(b) < len(p) {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != p[i] {
			return false
		}
	}
	return true
}

// pollClient is an Engine.IO long-polling client: one connection carries
// the GET long-polls, a second one the POSTs (as a browser would).
type pollClient struct {
	wk     *Worker
	get    *httpConn
	post   *httpConn
	postMu sync.Mutex
	sid    string
	getReq []byte // prebuilt: the sid never changes
	path   string
	addr   string

	nextAck atomic.Uint64
	closing atomic.Bool

	// setup state
	wantAck uint64
	gotAck  bool
	sioUp   bool
}

func (pc *pollClient) buildQuery(b []byte) []byte {
	b = append(b, pc.path...)
	b = append(b, "?EIO=4&transport=polling"...)
	if pc.sid != "" {
		b = append(b, "&sid="...)
		b = append(b, pc.sid...)
	}
	return b
}

// openPolling does the Engine.IO handshake over polling and returns the
// client with its sid (the GET connection only).
func openPolling(w *Worker, src net.IP, addr, path string, timeout time.Duration) (*pollClient, error) {
	hc, err := dialHTTP(src, addr, timeout)
	if err != nil {
		return nil, err
	}
	_ = hc.nc.SetDeadline(time.Now().Add(timeout))
	pc := &pollClient{wk: w, get: hc, path: path, addr: addr}
	req := append(pc.buildQuery(append(hc.req[:0], "GET "...)), " HTTP/1.1\r\nHost: "...)
	req = append(append(req, addr...), "\r\n\r\n"...)
	st, body, err := hc.roundTrip(req)
	if err != nil {
		hc.nc.Close()
		return nil, fmt.Errorf("polling handshake: %w", err)
	}
	if st != 200 || len(body) == 0 || body[0] != eioOpen {
		hc.nc.Close()
		return nil, fmt.Errorf("polling handshake: status %d body %.60q", st, body)
	}
	pc.sid = extractSID(body)
	if pc.sid == "" {
		hc.nc.Close()
		return nil, fmt.Errorf("polling handshake: no sid in %.60q", body)
	}
	r := append(pc.buildQuery([]byte("GET ")), " HTTP/1.1\r\nHost: "...)
	pc.getReq = append(append(r, addr...), "\r\n\r\n"...)
	return pc, nil
}

// send POSTs one Engine.IO packet.
func (pc *pollClient) send(src net.IP, pkt []byte, timeout time.Duration) error {
	pc.postMu.Lock()
	defer pc.postMu.Unlock()
	if pc.post == nil {
		hc, err := dialHTTP(src, pc.addr, timeout)
		if err != nil {
			return err
		}
		pc.post = hc
	}
	h := pc.post
	b := append(h.req[:0], "POST "...)
	b = pc.buildQuery(b)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, pc.addr...)
	b = append(b, "\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: "...)
	b = appendUint(b, uint64(len(pkt)))
	b = append(b, "\r\n\r\n"...)
	b = append(b, pkt...)
	h.req = b
	st, body, err := h.roundTrip(b)
	if err != nil {
		return fmt.Errorf("polling POST: %w", err)
	}
	if st != 200 {
		return fmt.Errorf("polling POST: status %d %.60q", st, body)
	}
	return nil
}

// poll does one GET long-poll and handles every packet in the answer.
func (pc *pollClient) poll() error {
	st, body, err := pc.get.roundTrip(pc.getReq)
	if err != nil {
		return err
	}
	if st != 200 {
		return fmt.Errorf("polling GET: status %d %.60q", st, body)
	}
	for len(body) > 0 {
		var p []byte
		p, body = nextPacket(body)
		if len(p) == 0 {
			continue
		}
		switch p[0] {
		case eioMessage:
			s := p[1:]
			if len(s) > 0 {
				switch s[0] {
				case sioConnect:
					pc.sioUp = true
				case sioConnectError:
					return fmt.Errorf("socket.io connect error %.80q", s[1:])
				case sioAck:
					if id, ok := ackID(s); ok && id == pc.wantAck {
						pc.gotAck = true
					}
				default:
					pc.wk.handleSIO(nil, s)
				}
			}
		case eioPing:
			if err := pc.send(nil, []byte{eioPong}, 10*time.Second); err != nil {
				return err
			}
		case eioClose:
			return errClosedByServer
		}
	}
	return nil
}

// connect completes the Socket.IO CONNECT and, if room != "", joins it.
func (pc *pollClient) connect(src net.IP, room string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	if err := pc.send(src, []byte("40"), timeout); err != nil {
		return err
	}
	_ = pc.post.nc.SetDeadline(deadline)
	for !pc.sioUp {
		if err := pc.poll(); err != nil {
			return fmt.Errorf("socket.io connect over polling: %w", err)
		}
	}
	if room != "" {
		pc.wantAck = pc.nextAck.Add(1)
		b := append([]byte("42"), appendUint(nil, pc.wantAck)...)
		b = append(append(append(b, `["join","`...), room...), `"]`...)
		if err := pc.send(src, b, timeout); err != nil {
			return err
		}
		for !pc.gotAck {
			if err := pc.poll(); err != nil {
				return fmt.Errorf("join over polling: %w", err)
			}
		}
	}
	_ = pc.get.nc.SetDeadline(time.Time{})
	_ = pc.post.nc.SetDeadline(time.Time{})
	return nil
}

func (pc *pollClient) close() {
	pc.closing.Store(true)
	pc.get.nc.Close()
	pc.postMu.Lock()
	if pc.post != nil {
		pc.post.nc.Close()
	}
	pc.postMu.Unlock()
}
