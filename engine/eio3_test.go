package engine

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/fanio/fanio/internal/codec"
	"github.com/fanio/fanio/internal/pool"
)

// Engine.IO v3 as the reference serves it with allowEIO3 (the wire checked
// here against the reference's parser-v3 and transports; the real
// socket.io-client 2.x drives it in test/).

// handshake3 opens a v3 polling session with the extra query and returns
// its sid.
func handshake3(t *testing.T, base, query string) string {
	t.Helper()
	resp, body := do(t, "GET", base+"/engine.io/?EIO=3&transport=polling"+query, "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("v3 handshake: %d %q", resp.StatusCode, body)
	}
	n, rest, ok := strings.Cut(body, ":")
	if !ok || !strings.HasPrefix(rest, "0{") {
		t.Fatalf("v3 open payload %q", body)
	}
	if l, _ := strconv.Atoi(n); l != len(rest) {
		t.Fatalf("v3 open payload %q: length %s for %d characters", body, n, len(rest))
	}
	var op openPacket
	if err := json.Unmarshal([]byte(rest[1:]), &op); err != nil {
		t.Fatal(err)
	}
	if len(op.SID) != 20 || len(op.Upgrades) != 1 || op.MaxPayload != 1e6 {
		t.Fatalf("v3 open packet %+v", op)
	}
	return op.SID
}

func waitReason(t *testing.T, h *recordingHandler, want DisconnectReason) {
	t.Helper()
	select {
	case r := <-h.reason:
		if r != want {
			t.Fatalf("close reason %q, want %q", r, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no close (want %q)", want)
	}
}

// Without AllowEIO3 a v3 handshake gets the reference's refusal: 400
// {"code":5,...} on polling, a bare 400 with the text on an upgrade; a
// missing EIO is v3.
func TestEIO3RefusedByDefault(t *testing.T) {
	_, standalone, _ := start(t, Options{})
	_, hs, _ := mounted(t, Options{}, false)
	for _, base := range []string{standalone, hs.URL} {
		for _, q := range []string{"EIO=3&transport=polling", "transport=polling", "EIO=5&transport=polling"} {
			resp, body := do(t, "GET", base+"/engine.io/?"+q, "", nil)
			if resp.StatusCode != 400 || body != `{"code":5,"message":"Unsupported protocol version"}` ||
				resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("%s %s: %d %q %q", base, q, resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
		}
		addr := strings.TrimPrefix(base, "http://")
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(conn, "GET /engine.io/?EIO=3&transport=websocket HTTP/1.1\r\nHost: "+addr+
			"\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		conn.Close()
		if resp.StatusCode != 400 || string(b) != "Unsupported protocol version" {
			t.Errorf("%s upgrade: %d %q", base, resp.StatusCode, b)
		}
	}
}

func TestEIO3PollingText(t *testing.T) {
	srv, base, h := start(t, Options{AllowEIO3: true, PingInterval: time.Minute, PingTimeout: time.Minute})
	sid := handshake3(t, base, "&b64=1")
	if s := srv.sessions.get([]byte(sid)); s == nil || s.Protocol() != 3 {
		t.Fatal("session not v3")
	}
	u := base + "/engine.io/?EIO=3&transport=polling&b64=1&sid=" + sid
	// The v3 suite's payloads: text and base64 binary, echoed.
	for _, p := range []string{"6:4hello", "6:4test16:4test26:4test3", "6:4hello10:b4AQIDBA==", `20:42["chat","café 😀"]`} {
		if resp, body := do(t, "POST", u, p, nil); resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("POST %q: %d %q", p, resp.StatusCode, body)
		}
		resp, body := do(t, "GET", u, "", nil)
		if body != p || resp.Header.Get("Content-Type") != "text/plain; charset=UTF-8" {
			t.Fatalf("GET after %q: %q (%s)", p, body, resp.Header.Get("Content-Type"))
		}
	}
	// The client pings, the server pongs, three times.
	for i := 0; i < 3; i++ {
		do(t, "POST", u, "1:2", nil)
		if _, body := do(t, "GET", u, "", nil); body != "1:3" {
			t.Fatalf("pong: %q", body)
		}
	}
	// An empty packet is skipped; an empty payload is a parse error.
	if resp, _ := do(t, "POST", u, "0:1:2", nil); resp.StatusCode != 200 {
		t.Fatal("0: refused")
	}
	do(t, "GET", u, "", nil)
	// Close from the client: the held poll gets a noop.
	got := make(chan string, 1)
	go func() {
		_, body := do(t, "GET", u, "", nil)
		got <- body
	}()
	waitHeld(t, srv, sid)
	do(t, "POST", u, "1:1", nil)
	if b := <-got; b != "1:6" {
		t.Fatalf("held poll on close: %q", b)
	}
	waitReason(t, h, ReasonTransportClose)
	if resp, _ := do(t, "GET", u, "", nil); resp.StatusCode != 400 {
		t.Fatalf("poll after close: %d", resp.StatusCode)
	}
}

// waitHeld waits until sid holds a GET.
func waitHeld(t *testing.T, srv *Server, sid string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		s := srv.sessions.get([]byte(sid))
		if s != nil {
			s.mu.Lock()
			held := s.p != nil && s.p.conn != nil
			s.mu.Unlock()
			if held {
				return
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatal("the GET was not held")
}

func TestEIO3PollingBinary(t *testing.T) {
	_, base, h := start(t, Options{AllowEIO3: true, PingInterval: time.Minute, PingTimeout: time.Minute})
	sid := handshake3(t, base, "")
	u := base + "/engine.io/?EIO=3&transport=polling&sid=" + sid
	do(t, "POST", u, "6:4hello10:b4AQIDBA==", nil)
	resp, body := do(t, "GET", u, "", nil)
	want := []byte{0, 6, 255, 52, 104, 101, 108, 108, 111, 1, 5, 255, 4, 1, 2, 3, 4} // the v3 suite's
	if !bytes.Equal([]byte(body), want) || resp.Header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("GET: % x (%s)", body, resp.Header.Get("Content-Type"))
	}
	// Without binary the answer is text.
	do(t, "POST", u, "2:4x", nil)
	if resp, body := do(t, "GET", u, "", nil); body != "2:4x" || resp.Header.Get("Content-Type") != "text/plain; charset=UTF-8" {
		t.Fatalf("GET: %q", body)
	}
	// An XHR2 POST (as engine.io-client 3 sends binary), and its echo.
	var post []byte
	post = codec.AppendXHR2Text(post, codec.EIOMessage, []byte("héllo"))
	post = codec.AppendXHR2Binary(post, codec.EIOMessage, []byte{9, 8, 7})
	post = codec.AppendXHR2Text(post, codec.EIOPing, nil)
	if resp, body := do(t, "POST", u, string(post), map[string]string{"Content-Type": "application/octet-stream"}); resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("binary POST: %d %q", resp.StatusCode, body)
	}
	_, body = do(t, "GET", u, "", nil)
	var want2 []byte
	want2 = codec.AppendXHR2Text(want2, codec.EIOMessage, []byte("héllo"))
	want2 = codec.AppendXHR2Binary(want2, codec.EIOMessage, []byte{9, 8, 7})
	want2 = codec.AppendXHR2Text(want2, codec.EIOPong, nil)
	if !bytes.Equal([]byte(body), want2) {
		t.Fatalf("echo of the binary POST: % x, want % x", body, want2)
	}
	h.mu.Lock()
	msgs := append([]string(nil), h.msgs...)
	h.mu.Unlock()
	if strings.Join(msgs, "|") != "hello|\x01\x02\x03\x04|x|héllo|\x09\x08\x07" {
		t.Fatalf("messages %q", msgs)
	}
	// A malformed binary payload closes the session.
	if resp, _ := do(t, "POST", u, "\x00\x05\xff4a", map[string]string{"Content-Type": "application/octet-stream"}); resp.StatusCode != 400 {
		t.Fatalf("bad binary POST: %d", resp.StatusCode)
	}
	waitReason(t, h, ReasonParseError)
}

func TestEIO3HeartbeatPolling(t *testing.T) {
	_, base, h := start(t, Options{AllowEIO3: true, PingInterval: 300 * time.Millisecond, PingTimeout: 300 * time.Millisecond})
	// No ping: "ping timeout" after pingInterval + pingTimeout, and the
	// session is gone (the v3 suite POSTs a ping then and expects 400).
	sid := handshake3(t, base, "&b64=1")
	waitReason(t, h, ReasonPingTimeout)
	if resp, _ := do(t, "POST", base+"/engine.io/?EIO=3&transport=polling&sid="+sid, "1:2", nil); resp.StatusCode != 400 {
		t.Fatalf("POST after the timeout: %d", resp.StatusCode)
	}
	// A pong from a v3 client is the wrong direction.
	sid = handshake3(t, base, "&b64=1")
	do(t, "POST", base+"/engine.io/?EIO=3&transport=polling&sid="+sid, "1:3", nil)
	waitReason(t, h, ReasonTransportError)
}

// Pings keep a v3 session alive well past pingInterval + pingTimeout (a
// ping every 100 ms for 2.5 s, the window being 1 s).
func TestEIO3PingsKeepAlive(t *testing.T) {
	_, base, h := start(t, Options{AllowEIO3: true, PingInterval: 500 * time.Millisecond, PingTimeout: 500 * time.Millisecond})
	sid := handshake3(t, base, "&b64=1")
	u := base + "/engine.io/?EIO=3&transport=polling&b64=1&sid=" + sid
	for i := 0; i < 25; i++ {
		time.Sleep(100 * time.Millisecond)
		if resp, _ := do(t, "POST", u, "1:2", nil); resp.StatusCode != 200 {
			t.Fatalf("ping %d: %d", i, resp.StatusCode)
		}
		if _, body := do(t, "GET", u, "", nil); body != "1:3" {
			t.Fatalf("pong %d: %q", i, body)
		}
	}
	select {
	case r := <-h.reason:
		t.Fatalf("closed: %s", r)
	default:
	}
}

// A v4 client's ping is the wrong direction; a v4 binary POST is refused
// ("invalid content" for the reference).
func TestEIO4WrongDirectionAndBinaryPost(t *testing.T) {
	_, base, h := start(t, Options{AllowEIO3: true})
	op, _ := handshake(t, base, nil)
	do(t, "POST", base+"/engine.io/?EIO=4&transport=polling&sid="+op.SID, "2", nil)
	waitReason(t, h, ReasonTransportError)
	op, _ = handshake(t, base, nil)
	resp, _ := do(t, "POST", base+"/engine.io/?EIO=4&transport=polling&sid="+op.SID, "4x", map[string]string{"Content-Type": "application/octet-stream"})
	if resp.StatusCode != 400 {
		t.Fatalf("v4 binary POST: %d", resp.StatusCode)
	}
	waitReason(t, h, ReasonTransportError)
}

func wsURL(base, query string) string {
	return "ws" + strings.TrimPrefix(base, "http") + "/engine.io/?transport=websocket" + query
}

func (c *wsc) sendBinary(t *testing.T, b []byte) {
	t.Helper()
	if err := ws.WriteFrame(c.conn, ws.MaskFrameInPlace(ws.NewBinaryFrame(append([]byte(nil), b...)))); err != nil {
		t.Fatal(err)
	}
}

func expectFrame(t *testing.T, c *wsc, op ws.OpCode, payload string) {
	t.Helper()
	f := c.recv(t)
	if f.Header.OpCode != op || string(f.Payload) != payload {
		t.Fatalf("got %v %q, want %v %q", f.Header.OpCode, f.Payload, op, payload)
	}
}

func TestEIO3WebSocket(t *testing.T) {
	// A 1 s window for the client's pings: the exchanges below fit in it
	// on a loaded machine; the last part waits for it to pass.
	_, standalone, h1 := start(t, Options{AllowEIO3: true, PingInterval: 500 * time.Millisecond, PingTimeout: 500 * time.Millisecond})
	_, hs, h2 := mounted(t, Options{AllowEIO3: true, PingInterval: 500 * time.Millisecond, PingTimeout: 500 * time.Millisecond}, false)
	for i, base := range []string{standalone, hs.URL} {
		h := []*recordingHandler{h1, h2}[i]
		c := wsDial(t, wsURL(base, "&EIO=3"), nil)
		c.open(t)
		for i := 0; i < 3; i++ {
			c.send(t, "2")
			expectFrame(t, c, ws.OpText, "3")
		}
		c.send(t, "4hello")
		expectFrame(t, c, ws.OpText, "4hello")
		c.sendBinary(t, []byte{4, 1, 2, 3, 4})
		expectFrame(t, c, ws.OpBinary, "\x04\x01\x02\x03\x04")
		c.send(t, "b4AQID") // base64 binary in a text frame
		expectFrame(t, c, ws.OpBinary, "\x04\x01\x02\x03")
		// no ping: closed after pingInterval + pingTimeout
		waitReason(t, h, ReasonPingTimeout)

		// A client that asked for base64 gets binary as text.
		c = wsDial(t, wsURL(base, "&EIO=3&b64=1"), nil)
		c.open(t)
		c.sendBinary(t, []byte{4, 1, 2, 3})
		expectFrame(t, c, ws.OpText, "b4AQID")
		c.send(t, "1")
		waitReason(t, h, ReasonTransportClose)

		// A pong is the wrong direction; a binary frame without a type, or
		// an unknown one, does not parse.
		c = wsDial(t, wsURL(base, "&EIO=3"), nil)
		c.open(t)
		c.send(t, "3")
		waitReason(t, h, ReasonTransportError)
		c = wsDial(t, wsURL(base, "&EIO=3"), nil)
		c.open(t)
		c.sendBinary(t, []byte{9, 1})
		waitReason(t, h, ReasonParseError)
	}
}

// A v3 upgrade: the probe, the held poll released with "1:6", then binary
// on the WebSocket with the type byte.
func TestEIO3Upgrade(t *testing.T) {
	srv, base, h := start(t, Options{AllowEIO3: true, PingInterval: time.Minute, PingTimeout: time.Minute})
	sid := handshake3(t, base, "")
	u := base + "/engine.io/?EIO=3&transport=polling&sid=" + sid
	got := make(chan string, 1)
	go func() {
		_, body := do(t, "GET", u, "", nil)
		got <- body
	}()
	waitHeld(t, srv, sid)
	c := wsDial(t, wsURL(base, "&EIO=3&sid="+sid), nil)
	c.send(t, "2probe")
	expectFrame(t, c, ws.OpText, "3probe")
	if b := <-got; b != "1:6" {
		t.Fatalf("held poll during the upgrade: %q", b)
	}
	// Queued while upgrading: goes out on the WebSocket after "5".
	do(t, "POST", u, "10:b4AQIDBA==", nil)
	c.send(t, "5")
	expectFrame(t, c, ws.OpBinary, "\x04\x01\x02\x03\x04")
	c.sendBinary(t, []byte{4, 7})
	expectFrame(t, c, ws.OpBinary, "\x04\x07")
	if resp, _ := do(t, "GET", u, "", nil); resp.StatusCode != 400 {
		t.Fatalf("poll after the upgrade: %d", resp.StatusCode)
	}
	c.send(t, "1")
	waitReason(t, h, ReasonTransportClose)
}

// JSONP polling ("j" at the handshake) is served to v3 and v4 clients, as
// by the reference.
func TestJSONP(t *testing.T) {
	_, base, h := start(t, Options{AllowEIO3: true, PingInterval: time.Minute, PingTimeout: time.Minute})
	for _, v := range []string{"3", "4"} {
		resp, body := do(t, "GET", base+"/engine.io/?EIO="+v+"&transport=polling&j=2", "", nil)
		prefix, suffix := `___eio[2]("`, `");`
		if resp.StatusCode != 200 || !strings.HasPrefix(body, prefix) || !strings.HasSuffix(body, suffix) {
			t.Fatalf("v%s JSONP handshake: %d %q", v, resp.StatusCode, body)
		}
		var payload string
		if err := json.Unmarshal([]byte(body[len(prefix)-1:len(body)-len(suffix)+1]), &payload); err != nil {
			t.Fatalf("JSONP literal %q: %v", body, err)
		}
		if v == "3" {
			_, payload, _ = strings.Cut(payload, ":")
		}
		var op openPacket
		if err := json.Unmarshal([]byte(payload[1:]), &op); err != nil {
			t.Fatal(err)
		}
		u := base + "/engine.io/?EIO=" + v + "&transport=polling&j=2&sid=" + op.SID
		post, want := `d=`+"7%3A4a%5C%5Cnb+%22", `___eio[2]("7:4a\\nb \"");`
		if v == "4" {
			post, want = `d=4a%5C%5Cnb+%22%1Eb`+"AQID", `___eio[2]("4a\\nb \"\u001ebAQID");`
		}
		hdr := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
		if resp, body := do(t, "POST", u, post, hdr); resp.StatusCode != 200 || body != "ok" {
			t.Fatalf("v%s JSONP POST: %d %q", v, resp.StatusCode, body)
		}
		if _, body := do(t, "GET", u, "", nil); body != want {
			t.Fatalf("v%s JSONP GET: %q, want %q", v, body, want)
		}
		do(t, "POST", u, "d=1%3A1", hdr)
		waitReason(t, h, ReasonTransportClose)
	}
	if v := strings.Join(func() []string {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.msgs
	}(), "|"); v != "a\\nb \"|a\\nb \"|\x01\x02\x03" {
		t.Fatalf("messages %q", v)
	}
}

// One Prepared sent to sessions of every form: v4 and v3, polling
// (text, base64, XHR2) and WebSocket (binary, base64), each gets its own
// framing of the same messages.
func TestPreparedV3Forms(t *testing.T) {
	msgs := []Message{{Data: []byte(`1-["f",{"_placeholder":true,"num":0}]`)}, {Data: []byte{1, 2, 3}, Binary: true}}
	p := NewPrepared(msgs, true)
	if string(p.records) != `41-["f",{"_placeholder":true,"num":0}]`+"\x1ebAQID" {
		t.Fatalf("v4 records %q", p.records)
	}
	if got, want := string(p.v3Text()), `38:41-["f",{"_placeholder":true,"num":0}]6:b4AQID`; got != want {
		t.Fatalf("v3 text %q, want %q", got, want)
	}
	var xhr2 []byte
	xhr2 = codec.AppendXHR2Text(xhr2, codec.EIOMessage, msgs[0].Data)
	xhr2 = codec.AppendXHR2Binary(xhr2, codec.EIOMessage, msgs[1].Data)
	if !bytes.Equal(p.v3XHR2(), xhr2) {
		t.Fatalf("v3 XHR2 % x", p.v3XHR2())
	}
	readFrames := func(b []byte) (out []string) {
		for len(b) > 0 {
			hd, n, err := codec.ParseFrameHeader(b)
			if err != nil {
				t.Fatal(err)
			}
			op := "t"
			if hd.OpCode == ws.OpBinary {
				op = "b"
			}
			out = append(out, op+":"+string(b[n:n+int(hd.Length)]))
			b = b[n+int(hd.Length):]
		}
		return out
	}
	if got := strings.Join(readFrames(p.v3Frames(false, false, 1024)), "|"); got != `t:41-["f",{"_placeholder":true,"num":0}]|b:`+"\x04\x01\x02\x03" {
		t.Fatalf("v3 frames %q", got)
	}
	if got := strings.Join(readFrames(p.v3Frames(true, false, 1024)), "|"); got != `t:41-["f",{"_placeholder":true,"num":0}]|t:b4AQID` {
		t.Fatalf("v3 base64 frames %q", got)
	}
	// built once: the same bytes on each call
	if &p.v3Text()[0] != &p.v3Text()[0] || &p.v3Frames(false, false, 1024)[0] != &p.v3Frames(false, false, 1024)[0] {
		t.Fatal("v3 forms rebuilt")
	}
	// compression applies to v3 frames too
	big := NewPrepared([]Message{{Data: bytes.Repeat([]byte("a"), 4096)}, {Data: bytes.Repeat([]byte{7}, 4096), Binary: true}}, true)
	for _, hd := range []bool{false, true} {
		fr := big.v3Frames(hd, true, 1024)
		b := fr
		for len(b) > 0 {
			h, n, _ := codec.ParseFrameHeader(b)
			if h.Rsv != 4 || h.Length > 1024 {
				t.Fatalf("frame not compressed: rsv %d length %d", h.Rsv, h.Length)
			}
			b = b[n+int(h.Length):]
		}
	}
	// Text only: the v3 frames are the v4 frames.
	tp := NewPrepared([]Message{{Data: []byte("2[1]")}}, false)
	if &tp.v3Frames(true, false, 1024)[0] != &tp.frames[0] || string(tp.v3Text()) != "5:42[1]" {
		t.Fatal("text-only Prepared")
	}
}

// Sent to live sessions of every kind at once.
func TestPreparedToMixedSessions(t *testing.T) {
	srv, base, _ := start(t, Options{AllowEIO3: true, PingInterval: time.Minute, PingTimeout: time.Minute})
	p := NewPrepared([]Message{{Data: []byte("2[\"x\"]")}, {Data: []byte{1, 2}, Binary: true}}, false)
	send := func(sid string) {
		t.Helper()
		s := srv.sessions.get([]byte(sid))
		if s == nil {
			t.Fatalf("no session %s", sid)
		}
		if err := s.SendPrepared(p); err != nil {
			t.Fatal(err)
		}
	}
	poll := func(q, sid string) string {
		t.Helper()
		send(sid)
		_, body := do(t, "GET", base+"/engine.io/?transport=polling"+q+"&sid="+sid, "", nil)
		return body
	}
	op, _ := handshake(t, base, nil)
	if b := poll("&EIO=4", op.SID); b != "42[\"x\"]\x1ebAQI=" {
		t.Fatalf("v4 polling %q", b)
	}
	if b := poll("&EIO=3&b64=1", handshake3(t, base, "&b64=1")); b != "7:42[\"x\"]6:b4AQI=" {
		t.Fatalf("v3 base64 polling %q", b)
	}
	if b := poll("&EIO=3", handshake3(t, base, "")); b != "\x00\x07\xff42[\"x\"]\x01\x03\xff\x04\x01\x02" {
		t.Fatalf("v3 XHR2 polling % x", b)
	}
	for _, c := range []struct{ q, bin string }{{"&EIO=4", "\x01\x02"}, {"&EIO=3", "\x04\x01\x02"}, {"&EIO=3&b64=1", "b4AQI="}} {
		w := wsDial(t, wsURL(base, c.q), nil)
		send(w.open(t))
		expectFrame(t, w, ws.OpText, "42[\"x\"]")
		if c.q == "&EIO=3&b64=1" {
			expectFrame(t, w, ws.OpText, c.bin)
		} else {
			expectFrame(t, w, ws.OpBinary, c.bin)
		}
	}
}

// discardExchange is a held GET whose answers go nowhere.
type discardExchange struct{}

func (discardExchange) respond(bb *pool.Buffer, _ bool) { pool.Put(bb) }
func (discardExchange) remoteAddr() net.Addr            { return nil }
func (discardExchange) secure() bool                    { return false }
func (discardExchange) hold(pollWatcher)                {}
func (discardExchange) unhold()                         {}

// A broadcast's allocations do not grow with its members, whichever
// versions and forms they take: the v3 forms are built once per Prepared,
// on the first v3 member, and every member's answer is written from pooled
// buffers.
func TestPreparedAllocsFlatInMembers(t *testing.T) {
	srv := NewServer(Options{AllowEIO3: true, HTTPCompressionThreshold: -1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer srv.timers.Close()
	msgs := []Message{{Data: []byte(`1-["f",{"_placeholder":true,"num":0}]`)}, {Data: []byte{1, 2, 3}, Binary: true}}
	newSessions := func(members int) []*Session {
		sessions := make([]*Session, members)
		for i := range sessions {
			// v4, v3 XHR2, v3 base64, v4 JSONP, in turn
			s := &Session{srv: srv, state: stateOpen, kind: kindPolling, p: &pollState{}, eio3: i%4 == 1 || i%4 == 2, b64: i%4 == 2}
			if i%4 == 3 {
				s.p.jsonp = []byte("1")
			}
			sessions[i] = s
		}
		return sessions
	}
	check := func(what string, allocs func(sessions []*Session) float64) {
		t.Helper()
		small, big := allocs(newSessions(8)), allocs(newSessions(4000))
		t.Logf("%s: %.0f allocations per broadcast with 8 members, %.0f with 4,000", what, small, big)
		if big > small+1 || big > 20 {
			t.Fatalf("%s: allocations per broadcast grow with members: %.0f with 8, %.0f with 4,000", what, small, big)
		}
	}
	// Each member's form of the packet, as its session asks for it.
	check("forms", func(sessions []*Session) float64 {
		return testing.AllocsPerRun(20, func() {
			p := NewPrepared(msgs, true)
			for _, s := range sessions {
				switch {
				case s.eio3 && !s.b64:
					_ = p.v3XHR2()
				case s.eio3:
					_ = p.v3Text()
				default:
					_ = p.records
				}
				_ = p.v3Frames(s.b64, false, 1024) // as v3 WebSocket members
				_ = p.v3Frames(s.b64, true, 1024)
				_ = p.deflated(1024) // as v4 WebSocket members with deflate
			}
		})
	})
	if raceEnabled {
		t.Log("the race detector drops pooled buffers: the sessions' own path is counted without it")
		return
	}
	// The whole send: queued on each session and answered to its held GET.
	check("sessions", func(sessions []*Session) float64 {
		return testing.AllocsPerRun(20, func() {
			p := NewPrepared(msgs, false)
			for _, s := range sessions {
				s.p.conn = discardExchange{}
				if err := s.SendPrepared(p); err != nil {
					t.Fatal(err)
				}
			}
		})
	})
}
