package loadgen

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// connScript is how scriptedServer misbehaves, if at all.
type connScript int

const (
	scriptOK          connScript = iota
	scriptBadAccept              // wrong Sec-WebSocket-Accept
	scriptRefuse                 // 44 instead of 40{...}
	scriptSilent                 // never answers 40
	scriptCloseAtOpen            // closes instead of sending the open packet
)

// scriptedServer is an Engine.IO/Socket.IO endpoint that answers the way
// the connect loop must cope with: the 101 and the open packet in separate
// writes (as Node does) or together (as fanio does), the polling handshake
// head and body in separate writes, an Engine.IO ping before the open
// packet. It checks every client frame and counts the CONNECTs it answered.
type scriptedServer struct {
	t        *testing.T
	ln       net.Listener
	script   connScript
	wg       sync.WaitGroup
	accepted atomic.Int64
	answered atomic.Int64
}

func startScripted(t *testing.T, script connScript) *scriptedServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &scriptedServer{t: t, ln: ln, script: script}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n := s.accepted.Add(1)
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				s.serve(c, n%2 == 0)
			}()
		}
	}()
	return s
}

// stop closes the listener and waits for every connection to end.
func (s *scriptedServer) stop() {
	s.ln.Close()
	s.wg.Wait()
}

func (s *scriptedServer) serve(c net.Conn, split bool) {
	t := s.t
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	req, err := http.ReadRequest(br)
	if err != nil {
		t.Errorf("request: %v", err)
		return
	}
	q := req.URL.Query()
	if req.URL.Path != "/socket.io/" || q.Get("EIO") != "4" || req.Host != s.ln.Addr().String() {
		t.Errorf("request %s %q host %q", req.Method, req.URL, req.Host)
	}
	sid := q.Get("sid")
	switch q.Get("transport") {
	case "polling":
		body := `0{"sid":"s-42","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`
		c.Write([]byte(fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Length: %d\r\n\r\n", len(body))))
		time.Sleep(time.Millisecond)
		c.Write([]byte(body))
		io.Copy(io.Discard, br) // kept open until the connect ends
		return
	case "websocket":
	default:
		t.Errorf("transport %q", q.Get("transport"))
		return
	}
	sum := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + wsGUID))
	accept := base64.StdEncoding.EncodeToString(sum[:])
	if s.script == scriptBadAccept {
		accept = base64.StdEncoding.EncodeToString(make([]byte, 20))
	}
	head := []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nsec-websocket-accept:  " + accept + "\r\n\r\n")
	if sid != "" {
		if sid != "s-42" {
			t.Errorf("upgrade of sid %q", sid)
		}
		c.Write(head)
		if !s.expect(br, "2probe") {
			return
		}
		c.Write(serverFrame(true, opText, []byte("3probe")))
		if !s.expect(br, "5") {
			return
		}
	} else {
		if s.script == scriptCloseAtOpen {
			c.Write(head)
			return
		}
		open := serverFrame(true, opText, []byte(`0{"sid":"w-1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`))
		ping := serverFrame(true, opText, []byte("2"))
		if split {
			c.Write(head)
			time.Sleep(time.Millisecond)
			c.Write(append(ping, open...))
		} else {
			c.Write(append(append(head, ping...), open...))
		}
		if !s.expect(br, "3") {
			return
		}
	}
	if !s.expect(br, "40") {
		return
	}
	switch s.script {
	case scriptRefuse:
		c.Write(serverFrame(true, opText, []byte(`44{"message":"not authorized"}`)))
	case scriptSilent:
	default:
		c.Write(serverFrame(true, opText, []byte(`40{"sid":"x-1"}`)))
		s.answered.Add(1)
	}
	io.Copy(io.Discard, br) // until the client closes
}

// expect reads a client text frame and checks its payload; a connection
// the client dropped is an error only when every connect should succeed.
func (s *scriptedServer) expect(r io.Reader, want string) bool {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		if s.script == scriptOK {
			s.t.Errorf("waiting for %q: %v", want, err)
		}
		return false
	}
	n := int(h[1] & 0x7f)
	if h[1]&0x80 == 0 || n > 125 {
		s.t.Errorf("waiting for %q: frame header % x", want, h)
		return false
	}
	var key [4]byte
	p := make([]byte, n)
	if _, err := io.ReadFull(r, key[:]); err != nil {
		return false
	}
	if _, err := io.ReadFull(r, p); err != nil {
		return false
	}
	maskBytes(p, key)
	if h[0] != 0x80|opText || string(p) != want {
		s.t.Errorf("want %q, got opcode %d %q", want, h[0]&0x0f, p)
		return false
	}
	return true
}

func runConnectRate(t *testing.T, s *scriptedServer, mode string, maxConns, timeoutMs int) (*Worker, Reply) {
	t.Helper()
	w := NewWorker(WorkerConfig{Targets: []string{s.ln.Addr().String()}, Srcs: []string{"127.0.0.1", "127.0.0.2"}}, false)
	r := w.connectRate(Command{Op: "connectrate", Mode: mode, Concurrency: 4, DurationMs: 20000, Max: maxConns, TimeoutMs: timeoutMs})
	s.stop()
	return w, r
}

// TestConnectRate runs both modes against the scripted server: every
// connect must succeed, be timed, and be closed by the client.
func TestConnectRate(t *testing.T) {
	for _, mode := range []string{"websocket", "upgrade"} {
		t.Run(mode, func(t *testing.T) {
			s := startScripted(t, scriptOK)
			w, r := runConnectRate(t, s, mode, 40, 5000)
			if r.Err != "" || r.EndNs <= r.StartNs {
				t.Fatalf("reply %+v", r)
			}
			st := w.snapshot()
			if st.Sent != 40 || st.Recv != 40 || st.Errors != 0 || st.Hist.N != 40 {
				t.Fatalf("sent %d ok %d errors %d timed %d: %v", st.Sent, st.Recv, st.Errors, st.Hist.N, st.ErrSample)
			}
			conns := int64(40)
			if mode == "upgrade" {
				conns = 80
			}
			if s.answered.Load() != 40 || s.accepted.Load() != conns {
				t.Fatalf("server answered %d connects on %d connections", s.answered.Load(), s.accepted.Load())
			}
		})
	}
}

// TestConnectRateFailures checks that a connect counts only with its
// 40{...}: a bad accept key, a CONNECT error, a server that goes quiet and
// one that closes are failures, each with its reason.
func TestConnectRateFailures(t *testing.T) {
	for _, tc := range []struct {
		script connScript
		mode   string
		want   string
	}{
		{scriptBadAccept, "websocket", "websocket upgrade: bad Sec-WebSocket-Accept"},
		{scriptBadAccept, "upgrade", "bad Sec-WebSocket-Accept"},
		{scriptRefuse, "upgrade", `waiting for socket.io connect: connect error {"message":"not authorized"}`},
		{scriptSilent, "websocket", "waiting for socket.io connect: timed out after 300ms"},
		{scriptCloseAtOpen, "websocket", "waiting for engine.io open: closed by server"},
	} {
		s := startScripted(t, tc.script)
		w, _ := runConnectRate(t, s, tc.mode, 6, 300)
		st := w.snapshot()
		if st.Sent != 6 || st.Recv != 0 || st.Errors != 6 || len(st.ErrSample) == 0 || !strings.Contains(st.ErrSample[0], tc.want) {
			t.Errorf("script %d %s: sent %d ok %d errors %d, errors %q, want %q", tc.script, tc.mode, st.Sent, st.Recv, st.Errors, st.ErrSample, tc.want)
		}
	}
}

// TestConnectPathDoesNotAllocate covers what a connect computes: key and
// accept value, request, response head check, frames and the sid.
func TestConnectPathDoesNotAllocate(t *testing.T) {
	l := &connLoop{wb: make([]byte, 0, 512), mask: newMaskSeed()}
	var k wsKey
	var resp, frames []byte
	sid := []byte("s-42")
	pollResp := []byte("HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n0{\"sid\":\"s-42\"}")
	allocs := testing.AllocsPerRun(100, func() {
		k.init(l.nextMask)
		l.wb = appendUpgradeRequest(l.wb[:0], "/socket.io/", sid, "127.0.0.1:3001", k.key[:])
		resp = append(append(resp[:0], "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: "...), k.accept[:]...)
		resp = append(resp, "\r\n\r\n"...)
		if n, err := k.checkResponse(resp); n != len(resp) || err != nil {
			t.Fatal(n, err)
		}
		if st, clen, _, err := parseHead(pollResp[:36]); st != 200 || clen != 13 || err != nil {
			t.Fatal(st, clen, err)
		}
		if len(sidValue(pollResp)) != 4 {
			t.Fatal("sid")
		}
		l.wb = l.wb[:0]
		l.appendFrame(opText, []byte("40"))
		frames = append(frames[:0], 0x81, 13)
		frames = append(frames, `40{"sid":"x"}`...)
		if _, op, p, n, _, err := parseFrame(frames); op != opText || n != len(frames) || string(p) != `40{"sid":"x"}` || err != nil {
			t.Fatal(op, n, err)
		}
	})
	if allocs != 0 {
		t.Fatalf("connect path allocates %.1f per connect", allocs)
	}
}

func TestWSKey(t *testing.T) {
	var k wsKey
	k.init(newMaskSeed)
	sum := sha1.Sum(append(k.key[:], wsGUID...))
	if string(k.accept[:]) != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Fatalf("accept %s for key %s", k.accept, k.key)
	}
	raw, err := base64.StdEncoding.DecodeString(string(k.key[:]))
	if err != nil || len(raw) != 16 {
		t.Fatalf("key %s: %v", k.key, err)
	}
	for _, bad := range []string{
		"HTTP/1.1 400 Bad Request\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\nX-Other: " + string(k.accept[:]) + "\r\n\r\n",
	} {
		if _, err := k.checkResponse([]byte(bad)); err == nil {
			t.Fatalf("accepted %q", bad)
		}
	}
	if n, err := k.checkResponse([]byte("HTTP/1.1 101 Switching")); n != 0 || err != nil {
		t.Fatalf("incomplete head: %d %v", n, err)
	}
}
