package loadgen

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func TestParseHelpers(t *testing.T) {
	if v, n := parseUint([]byte("12345x")); v != 12345 || n != 5 {
		t.Fatalf("parseUint = %d,%d", v, n)
	}
	if _, n := parseUint([]byte("x1")); n != 0 {
		t.Fatal("parseUint accepted a non-digit")
	}
	if id, ok := ackID([]byte(`37[]`)); !ok || id != 7 {
		t.Fatalf("ackID = %d,%v", id, ok)
	}
	if _, ok := ackID([]byte(`2["x"]`)); ok {
		t.Fatal("ackID accepted an event")
	}
	if ts, ep, ok := deliveryTimestamp([]byte(`2["msg","1234567 42 abc"]`)); !ok || ts != 1234567 || ep != 42 {
		t.Fatalf("deliveryTimestamp = %d,%d,%v", ts, ep, ok)
	}
	for _, bad := range []string{`2["other","1"]`, `3["msg","1"]`, `2["msg","x"]`, `2["msg",`} {
		if _, _, ok := deliveryTimestamp([]byte(bad)); ok {
			t.Fatalf("deliveryTimestamp accepted %s", bad)
		}
	}
	if sid := extractSID([]byte(`0{"sid":"abc_DEF-1","upgrades":["websocket"]}`)); sid != "abc_DEF-1" {
		t.Fatalf("extractSID = %q", sid)
	}
	if sid := extractSID([]byte(`0{}`)); sid != "" {
		t.Fatalf("extractSID = %q", sid)
	}
	if got := string(appendUint(nil, 0)); got != "0" {
		t.Fatal(got)
	}
	if got := string(appendInt(nil, -42)); got != "-42" {
		t.Fatal(got)
	}
}

func TestAppendPubRoundTrip(t *testing.T) {
	b := appendPub(nil, 987654321, 7, 64)
	if !bytes.HasPrefix(b, []byte(`42["pub","987654321 7 `)) || !bytes.HasSuffix(b, []byte(`"]`)) {
		t.Fatalf("pub = %s", b)
	}
	if payload := len(b) - len(`42["pub",`) - 1; payload != 64 {
		t.Fatalf("payload is %d bytes, want 64", payload)
	}
	// The server re-emits the payload as "msg".
	srv := append([]byte(`2["msg",`), b[len(`42["pub",`):]...)
	if ts, ep, ok := deliveryTimestamp(srv); !ok || ts != 987654321 || ep != 7 {
		t.Fatalf("delivery ts = %d,%d,%v", ts, ep, ok)
	}
	if n := testing.AllocsPerRun(100, func() { b = appendPub(b[:0], 1, 2, 200) }); n != 0 {
		t.Fatalf("appendPub allocates %.1f", n)
	}
}

func TestNextPacket(t *testing.T) {
	body := []byte("40{\"sid\":\"x\"}\x1e2\x1e42[\"msg\",\"1 a\"]")
	var got []string
	for len(body) > 0 {
		var p []byte
		p, body = nextPacket(body)
		got = append(got, string(p))
	}
	want := []string{`40{"sid":"x"}`, "2", `42["msg","1 a"]`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("packets %q", got)
	}
}

func TestMaskBytes(t *testing.T) {
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	for n := 0; n < 40; n++ {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(i * 7)
		}
		q := append([]byte(nil), p...)
		maskBytes(q, key)
		for i := range p {
			if q[i] != p[i]^key[i%4] {
				t.Fatalf("n=%d i=%d", n, i)
			}
		}
	}
}

// serverFrame builds an unmasked server frame.
func serverFrame(fin bool, op byte, p []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	var h []byte
	switch {
	case len(p) < 126:
		h = []byte{b0, byte(len(p))}
	case len(p) < 65536:
		h = []byte{b0, 126, 0, 0}
		binary.BigEndian.PutUint16(h[2:], uint16(len(p)))
	default:
		h = make([]byte, 10)
		h[0], h[1] = b0, 127
		binary.BigEndian.PutUint64(h[2:], uint64(len(p)))
	}
	return append(h, p...)
}

// readClientFrame reads and unmasks one client frame.
func readClientFrame(t *testing.T, r io.Reader) (byte, []byte) {
	t.Helper()
	h := make([]byte, 2)
	if _, err := io.ReadFull(r, h); err != nil {
		t.Fatal(err)
	}
	if h[1]&0x80 == 0 {
		t.Fatal("client frame not masked")
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		e := make([]byte, 2)
		io.ReadFull(r, e)
		n = uint64(binary.BigEndian.Uint16(e))
	case 127:
		e := make([]byte, 8)
		io.ReadFull(r, e)
		n = binary.BigEndian.Uint64(e)
	}
	var key [4]byte
	io.ReadFull(r, key[:])
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		t.Fatal(err)
	}
	maskBytes(p, key)
	return h[0] & 0x0f, p
}

// TestWebSocketClient runs the client against a scripted server: upgrade,
// Engine.IO open, Socket.IO CONNECT, then frames of every length encoding,
// a fragmented message, a WebSocket ping, an Engine.IO ping and a close.
func TestWebSocketClient(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	big := bytes.Repeat([]byte("z"), 70000)
	mid := bytes.Repeat([]byte("y"), 300)
	srvErr := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			srvErr <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 4096)
		n, _ := c.Read(buf)
		req := string(buf[:n])
		if !strings.HasPrefix(req, "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n") {
			t.Errorf("request %q", req)
		}
		var key string
		for _, l := range strings.Split(req, "\r\n") {
			if strings.HasPrefix(l, "Sec-WebSocket-Key: ") {
				key = strings.TrimPrefix(l, "Sec-WebSocket-Key: ")
			}
		}
		sum := sha1.Sum([]byte(key + wsGUID))
		resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n"
		// response head and the open packet in one write: leftover bytes must be kept
		c.Write(append([]byte(resp), serverFrame(true, opText, []byte(`0{"sid":"s1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`))...))
		if op, p := readClientFrame(t, c); op != opText || string(p) != "40" {
			t.Errorf("want 40, got %d %q", op, p)
		}
		c.Write(serverFrame(true, opText, []byte(`40{"sid":"x1"}`)))
		if op, p := readClientFrame(t, c); op != opText || string(p) != `421["join","r"]` {
			t.Errorf("want join, got %d %q", op, p)
		}
		var all []byte
		all = append(all, serverFrame(true, opText, []byte(`42["msg","100 a"]`))...)
		all = append(all, serverFrame(true, opText, []byte(`431[]`))...)
		c.Write(all)
		// after join: traffic for the read loop
		all = all[:0]
		all = append(all, serverFrame(true, opText, append([]byte(`42["msg","200 `), append(mid, `"]`...)...))...)
		all = append(all, serverFrame(true, opText, append([]byte(`42["msg","300 `), append(big, `"]`...)...))...)
		all = append(all, serverFrame(false, opText, []byte(`42["msg",`))...)
		all = append(all, serverFrame(true, opPing, []byte("hb"))...)
		all = append(all, serverFrame(true, opCont, []byte(`"400 frag"]`))...)
		all = append(all, serverFrame(true, opText, []byte("2"))...)
		// dribble the bytes to exercise partial headers
		for i := 0; i < len(all); i += 1000 {
			c.Write(all[i:min(i+1000, len(all))])
		}
		if op, p := readClientFrame(t, c); op != opPong || string(p) != "hb" {
			t.Errorf("want pong hb, got %d %q", op, p)
		}
		if op, p := readClientFrame(t, c); op != opText || string(p) != "3" {
			t.Errorf("want eio pong, got %d %q", op, p)
		}
		c.Write(serverFrame(true, opClose, nil))
		readClientFrame(t, c) // close echo
		srvErr <- nil
	}()

	w := NewWorker(WorkerConfig{Targets: []string{ln.Addr().String()}}, false)
	c, err := dialWS(w, net.ParseIP("127.0.0.1"), ln.Addr().String(), "/socket.io/", "", "", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.connectSIO(); err != nil {
		t.Fatal(err)
	}
	if err := c.join("r"); err != nil {
		t.Fatal(err)
	}
	if got := w.recv.Load(); got != 1 {
		t.Fatalf("deliveries during join = %d", got)
	}
	err = c.readLoop()
	if err != errClosedByServer {
		t.Fatalf("readLoop ended with %v", err)
	}
	if got := w.recv.Load(); got != 4 {
		t.Fatalf("deliveries = %d, want 4", got)
	}
	if err := <-srvErr; err != nil {
		t.Fatal(err)
	}
}

// TestReceivePathDoesNotAllocate decodes buffered frames and handles
// deliveries and acks without allocating.
func TestReceivePathDoesNotAllocate(t *testing.T) {
	w := NewWorker(WorkerConfig{Targets: []string{"127.0.0.1:1"}}, false)
	var stream []byte
	for i := 0; i < 200; i++ {
		stream = append(stream, serverFrame(true, opText, []byte(`42["msg","123456789 padpadpadpadpadpadpadpad"]`))...)
		stream = append(stream, serverFrame(true, opText, []byte(`43`+string(appendUint(nil, uint64(i)))+`["x"]`))...)
	}
	c := &wsConn{wk: w, rb: make([]byte, len(stream)+16), role: roleEcho, ring: new([ringSize]ackSlot)}
	allocs := testing.AllocsPerRun(5, func() {
		c.r, c.w = 0, copy(c.rb, stream)
		for c.r < c.w {
			op, p, err := c.nextMessage()
			if err != nil || op != opText {
				t.Fatal(err)
			}
			w.handleSIO(c, p[1:])
		}
	})
	if allocs != 0 {
		t.Fatalf("receive path allocates %.1f per run", allocs)
	}
	if w.recv.Load() == 0 || w.late.Load() == 0 {
		t.Fatalf("recv %d late %d", w.recv.Load(), w.late.Load())
	}
}
