package integration

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fanio/fanio/engine"
)

// TestBadInput throws malformed and hostile input at the server from raw TCP
// clients while healthy engine.io-client canaries keep exchanging messages
// with it, and asserts the exact answer to each. The canaries must finish
// with nothing lost, every session must end, and the server must survive
// (a panic in the in-process engine ends the test binary).
//
// The expected answers are the reference server's (npm engine.io 6.6 on
// Node's HTTP parser and ws 8, checked with FANIO_IT_SERVER=reference); where
// fanio deliberately answers differently the case has a separate reference
// expectation and a comment saying why.
func TestBadInput(t *testing.T) {
	s := startServer(t)

	// Canaries: one starts on polling and upgrades, one stays on polling.
	// They run until their stdin is closed after the last bad input.
	canaries := map[string]*Script{
		"upgrade": startScenario(t, s, "eio/healthy.mjs", "--transport", "upgrade", "--until-stdin-end", "yes", "--min-duration-ms", "2000", "--duration-ms", "90000", "--timeout", "110000"),
		"polling": startScenario(t, s, "eio/healthy.mjs", "--transport", "polling", "--until-stdin-end", "yes", "--min-duration-ms", "2000", "--duration-ms", "90000", "--timeout", "110000", "--interval-ms", "20"),
	}
	waitSessions(t, s, 2)

	t.Run("http", func(t *testing.T) { badHTTP(t, s) })
	t.Run("post-over-maxpayload", func(t *testing.T) { badPostTooLarge(t, s) })
	t.Run("websocket-frames", func(t *testing.T) { badFrames(t, s) })
	t.Run("garbage", func(t *testing.T) { garbage(t, s) })

	for name, c := range canaries {
		c.CloseStdin()
		res := c.Wait()
		if !res.OK() {
			t.Errorf("canary %s failed:\n%s", name, res)
			continue
		}
		if by := res.Str("stoppedBy"); by != "stdin" {
			t.Errorf("canary %s stopped by %q before the bad input was over", name, by)
		}
		t.Logf("canary %s: %s", name, lastLine(res.Stdout))
		expectServerClose(t, s, res.Str("sid"), engine.ReasonTransportClose, "")
	}

	// the server still serves a normal client afterwards
	res := runScenario(t, s, "eio/basic.mjs", "--transport", "polling")
	expectServerClose(t, s, res.Str("sid"), engine.ReasonTransportClose, engine.TransportPolling)
}

// waitSessions waits (bounded) until the server has opened n sessions.
func waitSessions(t *testing.T, s testServer, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for len(s.Log().Opens()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d canary sessions opened", len(s.Log().Opens()), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ---- HTTP ----

type httpCase struct {
	name string
	req  string // raw request; "{host}" is replaced by the server's host:port, "{sid}" by a live polling session id
	// what fanio must answer
	status int
	body   string // exact body when non-empty
	// the reference's answer when it differs (0: the same as fanio)
	refStatus int
	refBody   string
}

const (
	bodyUnknownSID       = `{"code":1,"message":"Session ID unknown"}`
	bodyUnknownTransport = `{"code":0,"message":"Transport unknown"}`
	bodyBadProtocol      = `{"code":5,"message":"Unsupported protocol version"}`
	bodyBadMethod        = `{"code":2,"message":"Bad handshake method"}`
	bodyBadRequest       = `{"code":3,"message":"Bad request"}`
)

func httpCases() []httpCase {
	get := func(target string) string {
		return "GET " + target + " HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
	}
	wsUpgrade := func(target string) string {
		return "GET " + target + " HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
			"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	}
	bigHeader := "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nX-Pad: " +
		strings.Repeat("a", 17000) + "\r\n\r\n"
	fields := func(n, size int) string {
		var b strings.Builder
		b.WriteString("GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n")
		for i := range n {
			fmt.Fprintf(&b, "X-H%d: %s\r\n", i, strings.Repeat("b", size))
		}
		return b.String() + "\r\n"
	}
	// what a browser behind a CDN sends: client hints, Sec-Fetch-*, cookies,
	// X-Forwarded-*, trace headers
	var cdn strings.Builder
	cdn.WriteString("GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n")
	for _, h := range []string{"User-Agent", "Accept", "Accept-Language", "Accept-Encoding", "Referer", "Origin", "Cookie",
		"Sec-Ch-Ua", "Sec-Ch-Ua-Mobile", "Sec-Ch-Ua-Platform", "Sec-Fetch-Site", "Sec-Fetch-Mode", "Sec-Fetch-Dest",
		"Sec-Fetch-User", "Sec-Gpc", "Dnt", "Pragma", "Cache-Control", "Priority", "X-Forwarded-For", "X-Forwarded-Proto",
		"X-Forwarded-Host", "X-Forwarded-Port", "X-Real-Ip", "Forwarded", "Via", "Cdn-Loop", "Cf-Connecting-Ip", "Cf-Ray",
		"Cf-Visitor", "Cf-Ipcountry", "True-Client-Ip", "Traceparent", "Tracestate", "X-Request-Id", "X-Amzn-Trace-Id"} {
		fmt.Fprintf(&cdn, "%s: value-of-%s\r\n", h, strings.ToLower(h))
	}
	cdn.WriteString("\r\n")
	wsUpgradeWith := func(proto, key, version string) string {
		return "GET /engine.io/?EIO=4&transport=websocket " + proto + "\r\nHost: {host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
			"Sec-WebSocket-Version: " + version + "\r\nSec-WebSocket-Key: " + key + "\r\n\r\n"
	}
	return []httpCase{
		// malformed request lines
		{name: "request-line/words", req: "THIS IS NOT HTTP\r\n\r\n", status: 400},
		{name: "request-line/method-only", req: "GET\r\n\r\n", status: 400},
		// Node's parser takes a request line without a version as an
		// HTTP/0.9-style request and serves it (the reference answers the
		// handshake, 200); fanio speaks HTTP/1.x only and rejects it.
		{name: "request-line/no-version", req: "GET /engine.io/?EIO=4&transport=polling\r\nHost: x\r\n\r\n", status: 400, refStatus: 200},
		{name: "request-line/control-chars", req: "G\x00T /engine.io/ HTTP/1.1\r\nHost: x\r\n\r\n", status: 400},
		{name: "request-line/space-in-target", req: "GET /engine.io/ ?EIO=4 HTTP/1.1\r\nHost: x\r\n\r\n", status: 400},
		{name: "header/no-colon", req: "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: {host}\r\nthis header has no colon\r\n\r\n", status: 400},
		// header block over MaxHeaderBytes (16 KiB, Node's maxHeaderSize)
		{name: "headers/one-large", req: bigHeader, status: 431},
		{name: "headers/many-over-16KiB", req: fields(500, 30), status: 431},
		// hundreds of fields within 16 KiB are served, as by Node (it allows 2000)
		{name: "headers/300-fields", req: fields(300, 20), status: 200},
		{name: "headers/cdn-browser", req: cdn.String(), status: 200},
		// RFC 9112 section 3.2: HTTP/1.1 needs exactly one Host
		{name: "host/missing", req: "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nConnection: close\r\n\r\n", status: 400},
		// Node's parser keeps the first of two Host fields and serves the request
		// (the reference answers the handshake); RFC 9112 requires 400.
		{name: "host/twice", req: "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: {host}\r\nHost: {host}\r\nConnection: close\r\n\r\n", status: 400, refStatus: 200},
		// WebSocket upgrades ws refuses, with its texts
		{name: "websocket/key-not-16-bytes", req: wsUpgradeWith("HTTP/1.1", "dGhlIHNhbXBsZSBub25j", "13"), status: 400, body: "Missing or invalid Sec-WebSocket-Key header"},
		{name: "websocket/key-not-base64", req: wsUpgradeWith("HTTP/1.1", "this is not a key at all!", "13"), status: 400, body: "Missing or invalid Sec-WebSocket-Key header"},
		// ws takes versions 13 and 8 (hybi-08, the same framing)
		{name: "websocket/version-7", req: wsUpgradeWith("HTTP/1.1", "dGhlIHNhbXBsZSBub25jZQ==", "7"), status: 400, body: "Missing or invalid Sec-WebSocket-Version header"},
		// RFC 6455 section 4.1: the opening handshake is HTTP/1.1 or later. Node
		// hands an HTTP/1.0 upgrade to ws, which answers 101.
		{name: "websocket/http-1.0", req: wsUpgradeWith("HTTP/1.0", "dGhlIHNhbXBsZSBub25jZQ==", "13"), status: 400, refStatus: 101},
		// session and query errors: JSON bodies like the reference
		{name: "sid/unknown-get", req: get("/engine.io/?EIO=4&transport=polling&sid=doesnotexist"), status: 400, body: bodyUnknownSID},
		{name: "sid/unknown-post", req: "POST /engine.io/?EIO=4&transport=polling&sid=doesnotexist HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: 6\r\n\r\n4hello", status: 400, body: bodyUnknownSID},
		// the reference answers a refused WebSocket upgrade with a text/html body
		{name: "sid/unknown-websocket", req: wsUpgrade("/engine.io/?EIO=4&transport=websocket&sid=doesnotexist"), status: 400, body: "Session ID unknown"},
		{name: "eio/3", req: get("/engine.io/?EIO=3&transport=polling"), status: 400, body: bodyBadProtocol},
		{name: "eio/5", req: get("/engine.io/?EIO=5&transport=polling"), status: 400, body: bodyBadProtocol},
		{name: "eio/missing", req: get("/engine.io/?transport=polling"), status: 400, body: bodyBadProtocol},
		{name: "eio/not-a-number", req: get("/engine.io/?EIO=four&transport=polling"), status: 400, body: bodyBadProtocol},
		{name: "transport/unknown", req: get("/engine.io/?EIO=4&transport=carrier-pigeon"), status: 400, body: bodyUnknownTransport},
		{name: "transport/missing", req: get("/engine.io/?EIO=4"), status: 400, body: bodyUnknownTransport},
		{name: "transport/webtransport-over-http", req: get("/engine.io/?EIO=4&transport=webtransport"), status: 400, body: bodyUnknownTransport},
		{name: "transport/websocket-without-upgrade", req: get("/engine.io/?EIO=4&transport=websocket"), status: 400, body: bodyBadRequest},
		// methods: a handshake is GET only
		{name: "method/put-handshake", req: "PUT /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", status: 400, body: bodyBadMethod},
		{name: "method/post-handshake", req: "POST /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", status: 400, body: bodyBadMethod},
		{name: "method/delete-handshake", req: "DELETE /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n", status: 400, body: bodyBadMethod},
		// On a live session the reference's polling transport answers any
		// method but GET/POST with a bare 500; fanio treats it as the client
		// error it is: 400.
		{name: "method/put-live-session", req: "PUT /engine.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", status: 400, refStatus: 500},
		// outside the engine path
		{name: "path/outside", req: get("/not-engine-io/?EIO=4&transport=polling"), status: 404},
	}
}

func badHTTP(t *testing.T, s testServer) {
	for _, c := range httpCases() {
		t.Run(c.name, func(t *testing.T) {
			req := strings.ReplaceAll(c.req, "{host}", s.HostPort())
			if strings.Contains(req, "{sid}") {
				req = strings.ReplaceAll(req, "{sid}", pollingHandshake(t, s))
			}
			status, hdr, body, err := rawExchange(s.HostPort(), []byte(req), nil)
			if err != nil {
				t.Fatalf("no HTTP answer: %v", err)
			}
			t.Logf("answer: %d %q (Content-Type %q)", status, trunc(body), hdr.Get("Content-Type"))
			wantStatus, wantBody := c.status, c.body
			if s.Kind() == backendReference && c.refStatus != 0 {
				wantStatus, wantBody = c.refStatus, c.refBody
			}
			if status != wantStatus {
				t.Errorf("status %d, want %d (body %q)", status, wantStatus, trunc(body))
			}
			if wantBody != "" && string(body) != wantBody {
				t.Errorf("body %q, want %q", trunc(body), wantBody)
			}
			if strings.HasPrefix(wantBody, "{") && hdr.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type %q, want application/json", hdr.Get("Content-Type"))
			}
		})
	}
}

// A POST body over MaxPayload on a live polling session gets 413.
func badPostTooLarge(t *testing.T, s testServer) {
	for _, tc := range []struct {
		name      string
		chunked   bool
		withCLen  bool
		bodyBytes int
	}{
		{name: "content-length", withCLen: true, bodyBytes: 1_100_000},
		{name: "chunked", chunked: true, bodyBytes: 1_100_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sid := pollingHandshake(t, s)
			var hdr strings.Builder
			fmt.Fprintf(&hdr, "POST %s?EIO=4&transport=polling&sid=%s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\nContent-Type: text/plain;charset=UTF-8\r\n",
				enginePath, sid, s.HostPort())
			body := []byte("4" + strings.Repeat("x", tc.bodyBytes-1))
			if tc.withCLen {
				fmt.Fprintf(&hdr, "Content-Length: %d\r\n", len(body))
			}
			if tc.chunked {
				hdr.WriteString("Transfer-Encoding: chunked\r\n")
				var cb bytes.Buffer
				for off := 0; off < len(body); off += 64 << 10 {
					end := min(off+64<<10, len(body))
					fmt.Fprintf(&cb, "%x\r\n", end-off)
					cb.Write(body[off:end])
					cb.WriteString("\r\n")
				}
				cb.WriteString("0\r\n\r\n")
				body = cb.Bytes()
			}
			hdr.WriteString("\r\n")
			status, _, respBody, err := rawExchange(s.HostPort(), []byte(hdr.String()), body)
			if err != nil {
				t.Fatalf("no HTTP answer: %v", err)
			}
			t.Logf("answer: %d %q", status, trunc(respBody))
			if status != http.StatusRequestEntityTooLarge {
				t.Errorf("status %d, want 413 (body %q)", status, trunc(respBody))
			}
			// The session itself is left to end on its own (the reference does not
			// close it on a 413; nobody polls it, so it ends by ping timeout);
			// startServer's cleanup checks that it does.
		})
	}
}

// pollingHandshake opens a polling session over raw HTTP and returns its sid.
func pollingHandshake(t *testing.T, s testServer) string {
	t.Helper()
	req := fmt.Sprintf("GET %s?EIO=4&transport=polling HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", enginePath, s.HostPort())
	status, _, body, err := rawExchange(s.HostPort(), []byte(req), nil)
	if err != nil || status != 200 || len(body) < 2 || body[0] != '0' {
		t.Fatalf("polling handshake: status %d, body %q, err %v", status, trunc(body), err)
	}
	var open struct{ SID string }
	if err := json.Unmarshal(body[1:], &open); err != nil || open.SID == "" {
		t.Fatalf("polling handshake: bad open packet %q: %v", trunc(body), err)
	}
	return open.SID
}

// rawExchange sends head (and body, concurrently, since the server may answer
// before it read it all) on a new TCP connection and reads one HTTP response.
func rawExchange(addr string, head, body []byte) (int, http.Header, []byte, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, nil, nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	go func() {
		// write errors (the server closing early) show up as a missing answer
		if _, err := conn.Write(head); err == nil && body != nil {
			conn.Write(body)
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil && resp.StatusCode != http.StatusRequestEntityTooLarge {
		return resp.StatusCode, resp.Header, b, fmt.Errorf("reading the body: %w", err)
	}
	return resp.StatusCode, resp.Header, b, nil
}

func trunc(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}

// ---- WebSocket frames ----

type frameCase struct {
	name string
	// frames returns the bytes to send after the upgrade; they may be sent
	// only in part if the server closes first.
	frames   func() []byte
	wantCode int
	// server-side close reason of the session
	wantReason engine.DisconnectReason
}

func frameCases() []frameCase {
	big := func() []byte {
		// a text frame declaring 1,100,000 bytes, of which only 64 KiB are sent:
		// the server must refuse it from the header alone
		f := wsFrame(true, 0, 0x1, true, nil, 1_100_000)
		return append(f, bytes.Repeat([]byte{'x'}, 64<<10)...)
	}
	fragmentedBig := func() []byte {
		// 600,000 + 600,000 bytes in two fragments: the message is over maxPayload
		p := bytes.Repeat([]byte{'y'}, 600_000)
		p[0] = '4'
		f := wsFrame(false, 0, 0x1, true, p, -1)
		return append(f, wsFrame(true, 0, 0x0, true, p[1:], -1)...)
	}
	return []frameCase{
		{name: "unmasked", frames: func() []byte { return wsFrame(true, 0, 0x1, false, []byte("4hello"), -1) }, wantCode: 1002, wantReason: engine.ReasonTransportError},
		{name: "reserved-opcode-3", frames: func() []byte { return wsFrame(true, 0, 0x3, true, []byte("4hello"), -1) }, wantCode: 1002, wantReason: engine.ReasonTransportError},
		{name: "reserved-opcode-b", frames: func() []byte { return wsFrame(true, 0, 0xB, true, nil, -1) }, wantCode: 1002, wantReason: engine.ReasonTransportError},
		{name: "control-over-125", frames: func() []byte { return wsFrame(true, 0, 0x9, true, bytes.Repeat([]byte{'p'}, 126), -1) }, wantCode: 1002, wantReason: engine.ReasonTransportError},
		{name: "fragmented-control", frames: func() []byte { return wsFrame(false, 0, 0x9, true, []byte("ping"), -1) }, wantCode: 1002, wantReason: engine.ReasonTransportError},
		{name: "rsv1-without-extension", frames: func() []byte { return wsFrame(true, 0x4, 0x1, true, []byte("4hello"), -1) }, wantCode: 1002, wantReason: engine.ReasonTransportError},
		{name: "rsv2", frames: func() []byte { return wsFrame(true, 0x2, 0x1, true, []byte("4hello"), -1) }, wantCode: 1002, wantReason: engine.ReasonTransportError},
		{name: "continuation-without-start", frames: func() []byte { return wsFrame(true, 0, 0x0, true, []byte("4hello"), -1) }, wantCode: 1002, wantReason: engine.ReasonTransportError},
		{name: "new-message-inside-fragmented", frames: func() []byte {
			return append(wsFrame(false, 0, 0x1, true, []byte("4hel"), -1), wsFrame(true, 0, 0x1, true, []byte("4lo"), -1)...)
		}, wantCode: 1002, wantReason: engine.ReasonTransportError},
		{name: "invalid-utf8", frames: func() []byte { return wsFrame(true, 0, 0x1, true, []byte("4\xff\xfe\xfd"), -1) }, wantCode: 1007, wantReason: engine.ReasonTransportError},
		{name: "invalid-utf8-surrogate", frames: func() []byte { return wsFrame(true, 0, 0x1, true, []byte("4\xed\xa0\x80"), -1) }, wantCode: 1007, wantReason: engine.ReasonTransportError},
		{name: "over-maxpayload", frames: big, wantCode: 1009, wantReason: engine.ReasonTransportError},
		// RFC 6455 section 8.1 (Autobahn 7.5.1): a close reason that is not UTF-8 is invalid payload data
		{name: "close-reason-not-utf8", frames: func() []byte { return wsFrame(true, 0, 0x8, true, []byte("\x03\xe8\xff\xfe"), -1) }, wantCode: 1007, wantReason: engine.ReasonTransportError},
		// an Engine.IO packet that does not parse ends with a close frame (with no
		// code, as the reference's ws.close()), not a bare FIN
		{name: "engineio-parse-error", frames: func() []byte { return wsFrame(true, 0, 0x1, true, []byte("x-not-a-packet"), -1) }, wantCode: 0, wantReason: engine.ReasonParseError},
		{name: "fragmented-over-maxpayload", frames: fragmentedBig, wantCode: 1009, wantReason: engine.ReasonTransportError},
	}
}

func badFrames(t *testing.T, s testServer) {
	for _, c := range frameCases() {
		t.Run(c.name, func(t *testing.T) {
			ws := wsConnect(t, s)
			defer ws.conn.Close()
			go ws.conn.Write(c.frames()) // may fail part-way once the server closes
			code, err := ws.expectClose()
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("close code %d", code)
			if code != c.wantCode {
				t.Errorf("close code %d, want %d", code, c.wantCode)
			}
			expectServerClose(t, s, ws.sid, c.wantReason, engine.TransportWebSocket)
		})
	}
}

type wsClient struct {
	conn net.Conn
	br   *bufio.Reader
	sid  string
}

// wsConnect opens an Engine.IO session directly over WebSocket with a raw
// TCP client and reads the open packet.
func wsConnect(t *testing.T, s testServer) *wsClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", s.HostPort(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(15 * time.Second))
	var nonce [16]byte
	for i := range nonce {
		nonce[i] = byte(rand.UintN(256))
	}
	key := base64.StdEncoding.EncodeToString(nonce[:])
	req := fmt.Sprintf("GET %s?EIO=4&transport=websocket HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n\r\n", enginePath, s.HostPort(), key)
	if _, err := conn.Write([]byte(req)); err != nil {
		conn.Close()
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		conn.Close()
		t.Fatalf("upgrade: %v", err)
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		conn.Close()
		t.Fatalf("upgrade: status %d, accept %q", resp.StatusCode, resp.Header.Get("Sec-WebSocket-Accept"))
	}
	c := &wsClient{conn: conn, br: br}
	_, op, payload, err := c.readFrame()
	if err != nil || op != 0x1 || len(payload) < 2 || payload[0] != '0' {
		conn.Close()
		t.Fatalf("open packet: op %d payload %q err %v", op, trunc(payload), err)
	}
	var open struct{ SID string }
	if err := json.Unmarshal(payload[1:], &open); err != nil || open.SID == "" {
		conn.Close()
		t.Fatalf("open packet %q: %v", trunc(payload), err)
	}
	c.sid = open.SID
	return c
}

// readFrame reads one (unmasked, server-to-client) frame.
func (c *wsClient) readFrame() (fin bool, op byte, payload []byte, err error) {
	var h [2]byte
	if _, err = io.ReadFull(c.br, h[:]); err != nil {
		return
	}
	fin, op = h[0]&0x80 != 0, h[0]&0x0f
	if h[1]&0x80 != 0 {
		return fin, op, nil, errors.New("the server sent a masked frame")
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err = io.ReadFull(c.br, b[:]); err != nil {
			return
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err = io.ReadFull(c.br, b[:]); err != nil {
			return
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > 4<<20 {
		return fin, op, nil, fmt.Errorf("server frame of %d bytes", n)
	}
	payload = make([]byte, n)
	_, err = io.ReadFull(c.br, payload)
	return
}

// expectClose reads frames until a close frame (skipping the server's
// messages and pings) and returns its status code (0 if it has none), then
// answers it with a close frame, as a client does, and requires the server
// to close the TCP connection. (A server that closed on its side already
// may reset the connection on that reply: that counts as closed.)
func (c *wsClient) expectClose() (int, error) {
	c.conn.SetDeadline(time.Now().Add(10 * time.Second))
	for i := 0; i < 1000; i++ {
		_, op, payload, err := c.readFrame()
		if err != nil {
			return 0, fmt.Errorf("no close frame before the connection ended: %w", err)
		}
		if op != 0x8 {
			continue
		}
		code := 0
		if len(payload) >= 2 {
			code = int(binary.BigEndian.Uint16(payload))
		}
		c.conn.Write(wsFrame(true, 0, 0x8, true, nil, -1))
		if err := expectEOF(c.conn, c.br); err != nil {
			return code, fmt.Errorf("after the close frame (code %d): %w", code, err)
		}
		return code, nil
	}
	return 0, errors.New("no close frame in 1000 frames")
}

// drain reads frames until the server closes the connection and returns the
// code of the close frame it sent (-1 if none, 0 if it had no code); an
// error if the connection is still open after 5s.
func (c *wsClient) drain() (int, error) {
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	code := -1
	for i := 0; i < 1000; i++ {
		_, op, payload, err := c.readFrame()
		switch {
		case err == nil:
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
			return code, nil
		case isTimeout(err):
			return code, errors.New("the server did not close the TCP connection within 5s")
		default:
			return code, err
		}
		if op == 0x8 && code == -1 {
			code = 0
			if len(payload) >= 2 {
				code = int(binary.BigEndian.Uint16(payload))
			}
		}
	}
	return code, errors.New("more than 1000 frames")
}

// expectEOF requires the peer to close the connection (FIN or RST) within
// the connection's deadline; whatever still arrives is discarded.
func expectEOF(conn net.Conn, r io.Reader) error {
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := io.Copy(io.Discard, io.LimitReader(r, 8<<20))
	switch {
	case err == nil, errors.Is(err, syscall.ECONNRESET):
		return nil
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return errors.New("the server did not close the TCP connection within 5s")
	default:
		return err
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// wsFrame builds a client frame. rsv holds the RSV1..3 bits as 0x4/0x2/0x1.
// declaredLen >= 0 puts that length in the header instead of len(payload).
func wsFrame(fin bool, rsv, op byte, masked bool, payload []byte, declaredLen int) []byte {
	var f []byte
	b0 := op | rsv<<4
	if fin {
		b0 |= 0x80
	}
	f = append(f, b0)
	n := len(payload)
	if declaredLen >= 0 {
		n = declaredLen
	}
	var mbit byte
	if masked {
		mbit = 0x80
	}
	switch {
	case n < 126:
		f = append(f, mbit|byte(n))
	case n < 1<<16:
		f = append(f, mbit|126, byte(n>>8), byte(n))
	default:
		f = append(f, mbit|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	if !masked {
		return append(f, payload...)
	}
	key := [4]byte{0x12, 0x34, 0x56, 0x78}
	f = append(f, key[:]...)
	for i, b := range payload {
		f = append(f, b^key[i%4])
	}
	return f
}

// ---- garbage ----

// Random bytes as an HTTP request: the server answers 400 or just closes,
// and in any case closes the connection. Random bytes after a WebSocket
// upgrade: the server ends the connection (we half-close after sending, so
// a frame it is still waiting for can never complete).
func garbage(t *testing.T, s testServer) {
	rng := rand.New(rand.NewPCG(20240601, 7))
	t.Run("http", func(t *testing.T) {
		answers := map[int]int{}
		defer func() { t.Logf("answers by status (0: closed without one): %v", answers) }()
		for i := range 24 {
			n := 1 + rng.IntN(4096)
			b := make([]byte, n)
			for j := range b {
				b[j] = byte(rng.UintN(256))
			}
			if i%3 == 1 {
				// garbage after a plausible start
				b = append([]byte("GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\n"), b...)
			}
			status, err := sendGarbage(s.HostPort(), b)
			if err != nil {
				t.Errorf("round %d (%d bytes): %v", i, len(b), err)
				continue
			}
			answers[status]++
			if status != 0 && status != 400 && status != 431 {
				t.Errorf("round %d (%d bytes): status %d, want 400 (or 431, or no answer)", i, len(b), status)
			}
		}
	})
	t.Run("websocket", func(t *testing.T) {
		codes := map[int]int{}
		defer func() { t.Logf("close codes (-1: no close frame): %v", codes) }()
		for i := range 8 {
			ws := wsConnect(t, s)
			n := 1 + rng.IntN(2048)
			b := make([]byte, n)
			for j := range b {
				b[j] = byte(rng.UintN(256))
			}
			ws.conn.Write(b)
			ws.conn.(*net.TCPConn).CloseWrite()
			code, err := ws.drain()
			codes[code]++
			if err != nil {
				t.Errorf("round %d (%d bytes): %v", i, n, err)
			}
			ws.conn.Close()
		}
	})
}

// sendGarbage writes b, half-closes, and returns the status of the HTTP
// answer (0 if the server closed without one); an error if the server
// neither answers nor closes within the deadline.
func sendGarbage(addr string, b []byte) (int, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	conn.Write(b)
	conn.(*net.TCPConn).CloseWrite()
	br := bufio.NewReader(conn)
	status := 0
	peek, err := br.Peek(12)
	switch {
	case err == nil && bytes.HasPrefix(peek, []byte("HTTP/1.")):
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return 0, fmt.Errorf("bad HTTP answer: %w", err)
		}
		status = resp.StatusCode
		resp.Body.Close()
	case err == nil || len(peek) > 0:
		return 0, fmt.Errorf("answer is not HTTP: %q", peek)
	}
	return status, expectEOF(conn, br)
}
