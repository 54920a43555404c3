package engine

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

type recordingHandler struct {
	mu     sync.Mutex
	msgs   []string
	reason chan DisconnectReason
}

func (h *recordingHandler) OnMessage(s *Session, data []byte, binary bool) {
	h.mu.Lock()
	h.msgs = append(h.msgs, string(data))
	h.mu.Unlock()
	_ = s.Send(data, binary)
}

func (h *recordingHandler) OnClose(s *Session, reason DisconnectReason) {
	select {
	case h.reason <- reason:
	default:
	}
}

func start(t *testing.T, opts Options) (*Server, string, *recordingHandler) {
	t.Helper()
	h := &recordingHandler{reason: make(chan DisconnectReason, 16)}
	srv := NewServer(opts)
	srv.OnConnection(func(s *Session) { s.SetHandler(h) })
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return srv, "http://" + srv.Addr().String(), h
}

var client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableCompression: true}}

func do(t *testing.T, method, url, body string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

type openPacket struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int      `json:"pingInterval"`
	PingTimeout  int      `json:"pingTimeout"`
	MaxPayload   int      `json:"maxPayload"`
}

func handshake(t *testing.T, base string, hdr map[string]string) (openPacket, *http.Response) {
	t.Helper()
	resp, body := do(t, "GET", base+"/engine.io/?EIO=4&transport=polling", "", hdr)
	if resp.StatusCode != 200 || !strings.HasPrefix(body, "0") {
		t.Fatalf("handshake: %d %q", resp.StatusCode, body)
	}
	var op openPacket
	if err := json.Unmarshal([]byte(body[1:]), &op); err != nil {
		t.Fatal(err)
	}
	return op, resp
}

func TestHandshakeAndEcho(t *testing.T) {
	_, base, h := start(t, Options{PingInterval: time.Second, PingTimeout: time.Second})
	op, _ := handshake(t, base, nil)
	if len(op.SID) != 20 || op.PingInterval != 1000 || op.PingTimeout != 1000 || op.MaxPayload != 1e6 ||
		len(op.Upgrades) != 1 || op.Upgrades[0] != "websocket" {
		t.Fatalf("open packet %+v", op)
	}
	u := base + "/engine.io/?EIO=4&transport=polling&sid=" + op.SID
	if resp, body := do(t, "POST", u, "4hello\x1ebAQID", nil); resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("post: %d %q", resp.StatusCode, body)
	}
	if _, body := do(t, "GET", u, "", nil); body != "4hello\x1ebAQID" {
		t.Fatalf("poll got %q", body)
	}
	h.mu.Lock()
	got := append([]string(nil), h.msgs...)
	h.mu.Unlock()
	if len(got) != 2 || got[0] != "hello" || got[1] != "\x01\x02\x03" {
		t.Fatalf("server saw %q", got)
	}
	if resp, _ := do(t, "POST", u, "1", nil); resp.StatusCode != 200 {
		t.Fatal("close post failed")
	}
	if r := <-h.reason; r != ReasonTransportClose {
		t.Fatalf("reason %q", r)
	}
	if resp, body := do(t, "GET", u, "", nil); resp.StatusCode != 400 || body != `{"code":1,"message":"Session ID unknown"}` {
		t.Fatalf("after close: %d %q", resp.StatusCode, body)
	}
}

func TestCORS(t *testing.T) {
	_, base, _ := start(t, Options{CORS: &CORS{Origins: []string{"https://app.example"}, Credentials: true, MaxAge: time.Minute}})
	_, resp := handshake(t, base, map[string]string{"Origin": "https://app.example"})
	if resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" ||
		resp.Header.Get("Access-Control-Allow-Credentials") != "true" || resp.Header.Get("Vary") != "Origin" {
		t.Fatalf("CORS headers %v", resp.Header)
	}
	_, resp = handshake(t, base, map[string]string{"Origin": "https://evil.example"})
	if v := resp.Header.Get("Access-Control-Allow-Origin"); v != "" {
		t.Fatalf("foreign origin allowed: %q", v)
	}
	resp, _ = do(t, "OPTIONS", base+"/engine.io/?EIO=4&transport=polling", "", map[string]string{
		"Origin": "https://app.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-token",
	})
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Headers") != "content-type,x-token" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") || resp.Header.Get("Access-Control-Max-Age") != "60" {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestAllowRequestCookieTransports(t *testing.T) {
	_, base, _ := start(t, Options{
		Transports: []string{TransportPolling},
		Cookie:     &Cookie{HTTPOnly: true, SameSite: "Lax"},
		AllowRequest: func(r *HandshakeRequest) error {
			if r.URL.Query().Get("token") != "secret" {
				return errors.New("bad token")
			}
			return nil
		},
	})
	resp, body := do(t, "GET", base+"/engine.io/?EIO=4&transport=polling", "", nil)
	if resp.StatusCode != 403 || body != `{"code":4,"message":"bad token"}` {
		t.Fatalf("rejected handshake: %d %q", resp.StatusCode, body)
	}
	resp, body = do(t, "GET", base+"/engine.io/?EIO=4&transport=polling&token=secret", "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("accepted handshake: %d %q", resp.StatusCode, body)
	}
	var op openPacket
	_ = json.Unmarshal([]byte(body[1:]), &op)
	if len(op.Upgrades) != 0 {
		t.Fatalf("polling-only server offers upgrades %v", op.Upgrades)
	}
	if ck := resp.Header.Get("Set-Cookie"); ck != "io="+op.SID+"; Path=/; HttpOnly; SameSite=Lax" {
		t.Fatalf("cookie %q", ck)
	}
	resp, body = do(t, "GET", base+"/engine.io/?EIO=4&transport=websocket&token=secret", "", nil)
	if resp.StatusCode != 400 || body != `{"code":0,"message":"Transport unknown"}` {
		t.Fatalf("disabled transport: %d %q", resp.StatusCode, body)
	}
}

func TestPollingCompressionAndLimits(t *testing.T) {
	srv, base, _ := start(t, Options{MaxPayload: 10_000, PingInterval: 5 * time.Second})
	op, _ := handshake(t, base, nil)
	u := base + "/engine.io/?EIO=4&transport=polling&sid=" + op.SID
	big := strings.Repeat("z", 5000)
	if resp, _ := do(t, "POST", u, "4"+big, nil); resp.StatusCode != 200 {
		t.Fatal("post failed")
	}
	resp, body := do(t, "GET", u, "", map[string]string{"Accept-Encoding": "gzip"})
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("no gzip on a %d-byte payload: %v", 5001, resp.Header)
	}
	zr, err := gzip.NewReader(bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if string(plain) != "4"+big {
		t.Fatalf("gunzipped payload differs (%d bytes)", len(plain))
	}
	// Over maxPayload: 413 and the session is gone.
	if resp, _ := do(t, "POST", u, "4"+strings.Repeat("y", 10_001), nil); resp.StatusCode != 413 {
		t.Fatalf("oversize post: %d", resp.StatusCode)
	}
	if resp, _ := do(t, "GET", u, "", nil); resp.StatusCode != 400 {
		t.Fatalf("session survived an oversize post: %d", resp.StatusCode)
	}
	if n := srv.SessionCount(); n != 0 {
		t.Fatalf("%d sessions left", n)
	}
}

func TestPingTimeoutPolling(t *testing.T) {
	_, base, h := start(t, Options{PingInterval: 50 * time.Millisecond, PingTimeout: 50 * time.Millisecond})
	op, _ := handshake(t, base, nil)
	u := base + "/engine.io/?EIO=4&transport=polling&sid=" + op.SID
	if _, body := do(t, "GET", u, "", nil); body != "2" {
		t.Fatalf("want a ping, got %q", body)
	}
	select {
	case r := <-h.reason:
		if r != ReasonPingTimeout {
			t.Fatalf("reason %q", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no ping timeout")
	}
}

func TestServerCloseDeliversClosePacket(t *testing.T) {
	srv, base, _ := start(t, Options{})
	op, _ := handshake(t, base, nil)
	for _, s := range srv.Sessions() {
		_ = s.Close()
	}
	u := base + "/engine.io/?EIO=4&transport=polling&sid=" + op.SID
	if _, body := do(t, "GET", u, "", nil); body != "1" {
		t.Fatalf("want the close packet, got %q", body)
	}
	if resp, _ := do(t, "GET", u, "", nil); resp.StatusCode != 400 {
		t.Fatalf("session still there: %d", resp.StatusCode)
	}
}

func TestNotFoundHook(t *testing.T) {
	_, base, _ := start(t, Options{NotFound: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api" {
			http.NotFound(w, r)
			return
		}
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(202)
		_, _ = w.Write(append([]byte("got:"), b...))
	})})
	resp, body := do(t, "POST", base+"/api", "payload", nil)
	if resp.StatusCode != 202 || body != "got:payload" || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("hook: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	if resp, _ := do(t, "GET", base+"/nope", "", nil); resp.StatusCode != 404 {
		t.Fatalf("want 404, got %d", resp.StatusCode)
	}
}
