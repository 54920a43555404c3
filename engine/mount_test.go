package engine

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// wsc is a raw WebSocket client for the tests.
type wsc struct {
	conn net.Conn
	br   *bufio.Reader
}

func wsDial(t *testing.T, url string, tlsCfg *tls.Config) *wsc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, br, _, err := ws.Dialer{TLSConfig: tlsCfg}.Dial(ctx, url)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { conn.Close() })
	if br == nil {
		br = bufio.NewReader(conn)
	}
	return &wsc{conn: conn, br: br}
}

func (c *wsc) send(t *testing.T, text string) {
	t.Helper()
	if err := ws.WriteFrame(c.conn, ws.MaskFrameInPlace(ws.NewTextFrame([]byte(text)))); err != nil {
		t.Fatal(err)
	}
}

func (c *wsc) recv(t *testing.T) ws.Frame {
	t.Helper()
	f, err := ws.ReadFrame(c.br)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// open reads the Engine.IO open packet and returns the sid.
func (c *wsc) open(t *testing.T) string {
	t.Helper()
	f := c.recv(t)
	var op openPacket
	if f.Header.OpCode != ws.OpText || len(f.Payload) < 2 || f.Payload[0] != '0' || json.Unmarshal(f.Payload[1:], &op) != nil {
		t.Fatalf("open packet: %v %q", f.Header.OpCode, f.Payload)
	}
	return op.SID
}

// mounted serves srv on a net/http server beside another route.
func mounted(t *testing.T, opts Options, useTLS bool) (*Server, *httptest.Server, *recordingHandler) {
	t.Helper()
	h := &recordingHandler{reason: make(chan DisconnectReason, 16)}
	srv := NewServer(opts)
	srv.OnConnection(func(s *Session) { s.SetHandler(h) })
	mux := http.NewServeMux()
	mux.Handle("/engine.io/", srv)
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello from the mux") })
	var hs *httptest.Server
	if useTLS {
		hs = httptest.NewTLSServer(mux)
	} else {
		hs = httptest.NewServer(mux)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx) // first: answers held polls
		hs.Close()
	})
	return srv, hs, h
}

// A server mounted on a ServeMux serves polling and WebSocket (direct and
// by upgrade) beside the mux's other routes, over plain HTTP and TLS.
func TestMounted(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		t.Run(map[bool]string{false: "http", true: "https"}[useTLS], func(t *testing.T) {
			srv, hs, h := mounted(t, Options{}, useTLS)
			hc := hs.Client()
			get := func(url string) (int, string) {
				resp, err := hc.Get(url)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			if code, body := get(hs.URL + "/hello"); code != 200 || body != "hello from the mux" {
				t.Fatalf("other route: %d %q", code, body)
			}
			// polling
			code, body := get(hs.URL + "/engine.io/?EIO=4&transport=polling")
			var op openPacket
			if code != 200 || body[0] != '0' || json.Unmarshal([]byte(body[1:]), &op) != nil || len(op.SID) != 20 {
				t.Fatalf("handshake: %d %q", code, body)
			}
			u := hs.URL + "/engine.io/?EIO=4&transport=polling&sid=" + op.SID
			resp, err := hc.Post(u, "text/plain", strings.NewReader("4hello"))
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("post: %v %v", resp, err)
			}
			resp.Body.Close()
			if code, body := get(u); code != 200 || body != "4hello" {
				t.Fatalf("poll: %d %q", code, body)
			}
			// A held GET is answered when the server sends.
			polled := make(chan string, 1)
			go func() {
				resp, err := hc.Get(u)
				if err != nil {
					polled <- err.Error()
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				polled <- string(b)
			}()
			time.Sleep(50 * time.Millisecond)
			sess := srv.Sessions()[0]
			if !sess.Request().Secure == useTLS {
				t.Errorf("Request().Secure = %v over %v", sess.Request().Secure, map[bool]string{false: "http", true: "https"}[useTLS])
			}
			_ = sess.Send([]byte("pushed"), false)
			if got := <-polled; got != "4pushed" {
				t.Fatalf("held poll got %q", got)
			}
			// upgrade to WebSocket
			wsURL := "ws" + strings.TrimPrefix(hs.URL, "http") + "/engine.io/?EIO=4&transport=websocket&sid=" + op.SID
			c := wsDial(t, wsURL, hs.Client().Transport.(*http.Transport).TLSClientConfig)
			c.send(t, "2probe")
			if f := c.recv(t); string(f.Payload) != "3probe" {
				t.Fatalf("probe: %q", f.Payload)
			}
			c.send(t, "5")
			c.send(t, "4over websocket")
			if f := c.recv(t); string(f.Payload) != "4over websocket" {
				t.Fatalf("echo after upgrade: %q", f.Payload)
			}
			if got := sess.Transport(); got != TransportWebSocket {
				t.Fatalf("transport %q after upgrade", got)
			}
			// direct WebSocket
			d := wsDial(t, "ws"+strings.TrimPrefix(hs.URL, "http")+"/engine.io/?EIO=4&transport=websocket", hs.Client().Transport.(*http.Transport).TLSClientConfig)
			d.open(t)
			d.send(t, "4direct")
			if f := d.recv(t); string(f.Payload) != "4direct" {
				t.Fatalf("direct echo: %q", f.Payload)
			}
			if n := srv.Stats().Connections; n != 2 {
				t.Errorf("Stats().Connections = %d, want the 2 WebSockets taken over", n)
			}
			h.mu.Lock()
			msgs := strings.Join(h.msgs, ",")
			h.mu.Unlock()
			if msgs != "hello,over websocket,direct" {
				t.Errorf("server saw %q", msgs)
			}
		})
	}
}

// A mounted server answers like one on its own listener: the same status,
// body and content type for each request.
func TestMountedAnswersAsStandalone(t *testing.T) {
	_, standalone, _ := start(t, Options{CORS: &CORS{Origins: []string{"*"}}})
	_, hs, _ := mounted(t, Options{CORS: &CORS{Origins: []string{"*"}}}, false)
	mountedURL := hs.URL
	cases := []struct{ method, target, body string }{
		{"GET", "/engine.io/?EIO=4&transport=polling&sid=nope", ""},
		{"GET", "/engine.io/?EIO=3&transport=polling", ""},
		{"GET", "/engine.io/?EIO=4&transport=carrier-pigeon", ""},
		{"GET", "/engine.io/?EIO=4&transport=websocket", ""},
		{"PUT", "/engine.io/?EIO=4&transport=polling", ""},
		{"POST", "/engine.io/?EIO=4&transport=polling", ""},
		{"OPTIONS", "/engine.io/?EIO=4&transport=polling", ""},
		{"POST", "/engine.io/?EIO=4&transport=polling&sid=nope", "4hi"},
		{"POST", "/engine.io/?EIO=4&transport=polling&sid=nope", strings.Repeat("x", 1_000_001)},
	}
	for _, c := range cases {
		var got [2]string
		for i, base := range []string{standalone, mountedURL} {
			resp, body := do(t, c.method, base+c.target, c.body, map[string]string{"Origin": "https://o.example"})
			got[i] = fmt.Sprintf("%d %q %q %q", resp.StatusCode, body, resp.Header.Get("Content-Type"), resp.Header.Get("Access-Control-Allow-Origin"))
		}
		if got[0] != got[1] {
			t.Errorf("%s %s: standalone %s, mounted %s", c.method, c.target, got[0], got[1])
		}
	}
}

// Refused WebSocket upgrades get ws's answers, mounted or not: a key that is
// not base64 of 16 bytes, a version other than 13, HTTP/1.0.
func TestUpgradeRefusals(t *testing.T) {
	_, standalone, _ := start(t, Options{})
	_, hs, _ := mounted(t, Options{}, false)
	key := "dGhlIHNhbXBsZSBub25jZQ=="
	cases := []struct {
		name, proto, key, version string
		status                    int
		body                      string
	}{
		{"ok", "HTTP/1.1", key, "13", 101, ""},
		{"key not base64", "HTTP/1.1", "not-base64-at-all!!!!!==", "13", 400, "Missing or invalid Sec-WebSocket-Key header"},
		{"key of 15 bytes", "HTTP/1.1", "dGhlIHNhbXBsZSBub25j", "13", 400, "Missing or invalid Sec-WebSocket-Key header"},
		{"no key", "HTTP/1.1", "", "13", 400, "Missing or invalid Sec-WebSocket-Key header"},
		{"version 8", "HTTP/1.1", key, "8", 101, ""},
		{"version 7", "HTTP/1.1", key, "7", 400, "Missing or invalid Sec-WebSocket-Version header"},
		{"http/1.0", "HTTP/1.0", key, "13", 400, "Bad request"},
	}
	for _, base := range []string{standalone, hs.URL} {
		addr := strings.TrimPrefix(base, "http://")
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				req := "GET /engine.io/?EIO=4&transport=websocket " + c.proto + "\r\nHost: " + addr + "\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: " + c.version + "\r\n"
				if c.key != "" {
					req += "Sec-WebSocket-Key: " + c.key + "\r\n"
				}
				conn, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
				io.WriteString(conn, req+"\r\n")
				resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != c.status || (c.body != "" && string(b) != c.body) {
					t.Fatalf("%s: %d %q, want %d %q", base, resp.StatusCode, b, c.status, c.body)
				}
			})
		}
	}
}

// An Engine.IO packet that does not parse, on a WebSocket, ends the session
// with a close frame (not a bare FIN), mounted or not.
func TestParseErrorClosesWithCloseFrame(t *testing.T) {
	_, standalone, h1 := start(t, Options{})
	_, hs, h2 := mounted(t, Options{}, false)
	for i, base := range []string{standalone, hs.URL} {
		h := []*recordingHandler{h1, h2}[i]
		c := wsDial(t, "ws"+strings.TrimPrefix(base, "http")+"/engine.io/?EIO=4&transport=websocket", nil)
		c.open(t)
		c.send(t, "x-not-a-packet")
		f := c.recv(t)
		if f.Header.OpCode != ws.OpClose {
			t.Fatalf("%s: got %v %q, want a close frame", base, f.Header.OpCode, f.Payload)
		}
		if r := <-h.reason; r != ReasonParseError {
			t.Fatalf("reason %q", r)
		}
	}
}

// 1,000 WebSockets taken over from net/http hold no goroutine each.
func TestMountedWebSocketsHoldNoGoroutine(t *testing.T) {
	_, hs, _ := mounted(t, Options{PingInterval: time.Minute}, false)
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/engine.io/?EIO=4&transport=websocket"
	warm := wsDial(t, url, nil) // the loops start on the first one
	warm.open(t)
	time.Sleep(100 * time.Millisecond)
	before := runtime.NumGoroutine()
	const n = 1000
	for i := 0; i < n; i++ {
		wsDial(t, url, nil).open(t)
	}
	time.Sleep(200 * time.Millisecond) // net/http's connection goroutines end after the hijack
	after := runtime.NumGoroutine()
	t.Logf("goroutines: %d before, %d after %d WebSockets", before, after, n)
	if after-before >= 100 {
		t.Fatalf("%d WebSockets added %d goroutines", n, after-before)
	}
}

// selfSigned writes a certificate for 127.0.0.1 and its key to dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// ListenAndServeTLS serves https polling and wss; Shutdown ends it with
// http.ErrServerClosed.
func TestListenAndServeTLS(t *testing.T) {
	certFile, keyFile, roots := selfSigned(t, t.TempDir())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	h := &recordingHandler{reason: make(chan DisconnectReason, 16)}
	srv := NewServer(Options{NotFound: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "tls=%v proto=%s", r.TLS != nil, r.Proto)
	})})
	srv.OnConnection(func(s *Session) { s.SetHandler(h) })
	done := make(chan error, 1)
	go func() { done <- srv.ListenAndServeTLS(addr, certFile, keyFile) }()
	tlsCfg := &tls.Config{RootCAs: roots}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsCfg.Clone(), ForceAttemptHTTP2: true}}
	var resp *http.Response
	for deadline := time.Now().Add(10 * time.Second); ; {
		if resp, err = hc.Get("https://" + addr + "/engine.io/?EIO=4&transport=polling"); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || body[0] != '0' {
		t.Fatalf("https handshake: %d %q", resp.StatusCode, body)
	}
	t.Logf("polling over %s", resp.Proto)
	if s := srv.Sessions(); len(s) != 1 || !s[0].Request().Secure {
		t.Errorf("session not marked secure")
	}
	resp, err = hc.Get("https://" + addr + "/other")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(string(body), "tls=true") {
		t.Errorf("other route over TLS: %q", body)
	}
	c := wsDial(t, "wss://"+addr+"/engine.io/?EIO=4&transport=websocket", tlsCfg)
	c.open(t)
	c.send(t, "4secure")
	if f := c.recv(t); string(f.Payload) != "4secure" {
		t.Fatalf("wss echo %q", f.Payload)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if f := c.recv(t); f.Header.OpCode != ws.OpClose {
		t.Fatalf("wss after Shutdown: %v", f.Header.OpCode)
	}
	select {
	case err := <-done:
		if !errors.Is(err, http.ErrServerClosed) {
			t.Fatalf("ListenAndServeTLS = %v, want http.ErrServerClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ListenAndServeTLS did not return after Shutdown")
	}
	if err := srv.ListenAndServe(addr); !errors.Is(err, http.ErrServerClosed) {
		t.Fatalf("ListenAndServe after Shutdown = %v", err)
	}
}

// Other routes of a standalone server are served by net/http: a response
// streams at the client's pace with no size cap, HEAD gets no body,
// http.Flusher works, the request's context ends when the client goes, and
// a panic is logged.
func TestNotFoundIsNetHTTP(t *testing.T) {
	var logs syncBuffer
	ctxDone := make(chan struct{})
	const big = 8 << 20 // twice the outbound cap of a reactor connection
	_, base, _ := start(t, Options{
		MaxOutboundBytes: 4 << 20,
		Logger:           slog.New(slog.NewTextHandler(&logs, nil)),
		NotFound: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/big":
				w.Header().Set("Content-Type", "application/octet-stream")
				chunk := bytes.Repeat([]byte("z"), 64<<10)
				for i := 0; i < big/len(chunk); i++ {
					if _, err := w.Write(chunk); err != nil {
						return
					}
				}
			case "/sse":
				w.Header().Set("Content-Type", "text/event-stream")
				for i := 0; ; i++ {
					if _, err := fmt.Fprintf(w, "data: %d\n\n", i); err != nil {
						return
					}
					w.(http.Flusher).Flush()
					select {
					case <-r.Context().Done():
						close(ctxDone)
						return
					case <-time.After(10 * time.Millisecond):
					}
				}
			case "/panic":
				panic("handler bug")
			default:
				io.WriteString(w, "body")
			}
		}),
	})
	// big, read slowly
	resp, err := client.Get(base + "/big")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	buf := make([]byte, 32<<10)
	for {
		m, err := resp.Body.Read(buf)
		n += m
		if n < 1<<20 {
			time.Sleep(time.Millisecond) // slower than the server at first
		}
		if err != nil {
			break
		}
	}
	resp.Body.Close()
	if n != big {
		t.Fatalf("big response: %d bytes, want %d", n, big)
	}
	// HEAD
	resp, body := do(t, "HEAD", base+"/x", "", nil)
	if resp.StatusCode != 200 || body != "" {
		t.Fatalf("HEAD: %d %q", resp.StatusCode, body)
	}
	// SSE, then the client goes
	resp, err = client.Get(base + "/sse")
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	for i := 0; i < 3; i++ {
		line, err := br.ReadString('\n')
		if err != nil || line != fmt.Sprintf("data: %d\n", i) {
			t.Fatalf("event %d: %q %v", i, line, err)
		}
		br.ReadString('\n')
	}
	resp.Body.Close()
	select {
	case <-ctxDone:
	case <-time.After(10 * time.Second):
		t.Fatal("the request context did not end when the client went")
	}
	// panic
	if _, err := client.Get(base + "/panic"); err == nil {
		t.Fatal("a panicking handler answered")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "handler bug") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "handler bug") {
		t.Fatalf("panic not logged:\n%s", logs.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// ListenAndServe blocks until Shutdown and then returns http.ErrServerClosed.
func TestListenAndServeShutdown(t *testing.T) {
	srv := NewServer(Options{})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	done := make(chan error, 1)
	go func() { done <- srv.ListenAndServe(addr) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := client.Get("http://" + addr + "/engine.io/?EIO=4&transport=polling")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("ListenAndServe returned early: %v", err)
	default:
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, http.ErrServerClosed) {
			t.Fatalf("ListenAndServe = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ListenAndServe did not return")
	}
	select {
	case <-srv.Done():
		if !errors.Is(srv.Err(), http.ErrServerClosed) {
			t.Fatalf("Err() = %v", srv.Err())
		}
	default:
		t.Fatal("Done not closed")
	}
}

// A HEAD request gets its answer's header and no body, on the server's own
// listener as on net/http.
func TestHeadGetsNoBody(t *testing.T) {
	_, standalone, _ := start(t, Options{})
	_, hs, _ := mounted(t, Options{}, false)
	for _, base := range []string{standalone, hs.URL} {
		for _, path := range []string{"/engine.io/?EIO=4&transport=polling", "/elsewhere"} {
			addr := strings.TrimPrefix(base, "http://")
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			// then a GET on the same connection: a body after the HEAD answer
			// would be read as the start of the GET's answer
			io.WriteString(conn, "HEAD "+path+" HTTP/1.1\r\nHost: "+addr+"\r\n\r\nGET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: "+addr+"\r\n\r\n")
			br := bufio.NewReader(conn)
			head, err := http.ReadResponse(br, &http.Request{Method: "HEAD"})
			if err != nil {
				t.Fatalf("%s HEAD %s: %v", base, path, err)
			}
			head.Body.Close()
			get, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("%s HEAD %s, then GET: %v", base, path, err)
			}
			b, _ := io.ReadAll(get.Body)
			if get.StatusCode != 200 || len(b) == 0 || b[0] != '0' {
				t.Fatalf("%s: the GET after HEAD %s got %d %q", base, path, get.StatusCode, b)
			}
			conn.Close()
		}
	}
}

// Where there is no reactor (Windows), every connection is served on
// goroutines by the same code: the server's own listener hands them to its
// net/http server with the engine mounted, whose WebSocket upgrades run on
// the goroutine fallback. The same flows as with the reactor, here on any
// platform.
func TestWithoutReactor(t *testing.T) {
	noReactor = true
	defer func() { noReactor = false }()
	srv, base, h := start(t, Options{NotFound: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "other route")
	})})
	if srv.loop.Reactor() {
		t.Fatal("the reactor runs")
	}
	if _, body := do(t, "GET", base+"/other", "", nil); body != "other route" {
		t.Fatalf("other route: %q", body)
	}
	op, _ := handshake(t, base, nil)
	u := base + "/engine.io/?EIO=4&transport=polling&sid=" + op.SID
	if resp, body := do(t, "POST", u, "4polled", nil); resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("post: %d %q", resp.StatusCode, body)
	}
	if _, body := do(t, "GET", u, "", nil); body != "4polled" {
		t.Fatalf("poll: %q", body)
	}
	wsURL := "ws" + strings.TrimPrefix(base, "http") + "/engine.io/?EIO=4&transport=websocket"
	c := wsDial(t, wsURL+"&sid="+op.SID, nil)
	c.send(t, "2probe")
	if f := c.recv(t); string(f.Payload) != "3probe" {
		t.Fatalf("probe: %q", f.Payload)
	}
	c.send(t, "5")
	c.send(t, "4upgraded")
	if f := c.recv(t); string(f.Payload) != "4upgraded" {
		t.Fatalf("echo after upgrade: %q", f.Payload)
	}
	d := wsDial(t, wsURL, nil)
	d.open(t)
	big := strings.Repeat("z", 200_000) // several reads and writes
	d.send(t, "4"+big)
	if f := d.recv(t); string(f.Payload) != "4"+big {
		t.Fatalf("big echo: %d bytes", len(f.Payload))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for _, cl := range []*wsc{c, d} {
		if f := cl.recv(t); f.Header.OpCode != ws.OpClose {
			t.Fatalf("after Shutdown: %v", f.Header.OpCode)
		}
	}
	h.mu.Lock()
	n := len(h.msgs)
	h.mu.Unlock()
	if n != 3 {
		t.Errorf("server saw %d messages", n)
	}
}

// Bytes a client sends right behind its upgrade request (before the 101)
// are read by net/http's buffer with the request; taken over, they reach
// the WebSocket as if they had come after it, on plain TCP and over TLS.
func TestMountedTakeOverCarriesBufferedBytes(t *testing.T) {
	for _, useTLS := range []bool{false, true} {
		_, hs, h := mounted(t, Options{}, useTLS)
		addr := strings.TrimPrefix(strings.TrimPrefix(hs.URL, "http://"), "https://")
		var conn net.Conn
		var err error
		if useTLS {
			conn, err = tls.Dial("tcp", addr, hs.Client().Transport.(*http.Transport).TLSClientConfig)
		} else {
			conn, err = net.Dial("tcp", addr)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		var early bytes.Buffer
		io.WriteString(&early, "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: "+addr+
			"\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
		for _, m := range []string{"4early", "4bird"} {
			_ = ws.WriteFrame(&early, ws.MaskFrameInPlace(ws.NewTextFrame([]byte(m))))
		}
		if _, err := conn.Write(early.Bytes()); err != nil { // one write: request and frames
			t.Fatal(err)
		}
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 101 {
			t.Fatalf("upgrade: %v %v", resp, err)
		}
		c := &wsc{conn: conn, br: br}
		c.open(t)
		for _, want := range []string{"4early", "4bird"} {
			if f := c.recv(t); string(f.Payload) != want {
				t.Fatalf("tls=%v: got %q, want %q", useTLS, f.Payload, want)
			}
		}
		h.mu.Lock()
		n := len(h.msgs)
		h.mu.Unlock()
		if n != 2 {
			t.Fatalf("server saw %d messages", n)
		}
	}
}

// Static files (the client bundle's mechanism) are answered mounted as on
// the server's own listener: the same body, ETag, encoding and 304, for a
// small file and one larger than what a reactor connection copies.
func TestMountedStaticFiles(t *testing.T) {
	big := bytes.Repeat([]byte("var x = 1; // a line of a big bundle\n"), 2000) // 74 KB
	opts := Options{StaticFiles: []StaticFile{
		{Name: "small.js", Data: []byte("console.log('small')")},
		{Name: "big.js", Data: big},
	}}
	_, standalone, _ := start(t, opts)
	_, hs, _ := mounted(t, opts, false)
	plain := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableCompression: true}}
	for _, name := range []string{"small.js", "big.js"} {
		var got [2]string
		for i, base := range []string{standalone, hs.URL} {
			req, _ := http.NewRequest("GET", base+"/engine.io/"+name, nil)
			req.Header.Set("Accept-Encoding", "gzip")
			resp, err := plain.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			etag := resp.Header.Get("ETag")
			got[i] = fmt.Sprintf("%d %s %s %d", resp.StatusCode, resp.Header.Get("Content-Encoding"), etag, len(b))
			req, _ = http.NewRequest("GET", base+"/engine.io/"+name, nil)
			req.Header.Set("If-None-Match", etag)
			resp, err = plain.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 304 {
				t.Errorf("%s%s with its ETag: %d, want 304", base, name, resp.StatusCode)
			}
		}
		want := "200 " // a tiny file is not worth compressing
		if name == "big.js" {
			want = "200 gzip"
		}
		if got[0] != got[1] || !strings.HasPrefix(got[0], want) {
			t.Errorf("%s: standalone %s, mounted %s", name, got[0], got[1])
		}
	}
}
