package engine

import (
	"bytes"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

type connErrors struct {
	mu   sync.Mutex
	errs []*ConnectionError
}

func (c *connErrors) add(e *ConnectionError) { c.mu.Lock(); c.errs = append(c.errs, e); c.mu.Unlock() }
func (c *connErrors) last(t *testing.T) *ConnectionError {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.errs) == 0 {
		t.Fatal("no connection_error reported")
	}
	return c.errs[len(c.errs)-1]
}
func (c *connErrors) count() int { c.mu.Lock(); defer c.mu.Unlock(); return len(c.errs) }

// Every refusal the reference reports as "connection_error" is reported
// with its code, message and context (engine.io lib/server.ts verify and
// handshake), and counted by reason.
func TestConnectionErrorHook(t *testing.T) {
	srv, base, _ := start(t, Options{
		AllowRequest: func(r *HandshakeRequest) error {
			if r.URL.Query().Get("deny") != "" {
				return errorString("go away")
			}
			return nil
		},
	})
	var got connErrors
	srv.OnConnectionError(got.add)
	wsSID, _ := handshake(t, base, nil) // a polling session, for the mismatch cases

	cases := []struct {
		name    string
		method  string
		query   string
		status  int
		code    int
		message string
		context map[string]any
	}{
		{"unknown transport", "GET", "EIO=4&transport=carrier-pigeon", 400, 0, "Transport unknown", map[string]any{"transport": "carrier-pigeon"}},
		{"unknown sid", "GET", "EIO=4&transport=polling&sid=nope", 400, 1, "Session ID unknown", map[string]any{"sid": "nope"}},
		{"handshake not GET", "PUT", "EIO=4&transport=polling", 400, 2, "Bad handshake method", map[string]any{"method": "PUT"}},
		{"EIO 3", "GET", "EIO=3&transport=polling", 400, 5, "Unsupported protocol version", map[string]any{"protocol": 3}},
		{"websocket without upgrade", "GET", "EIO=4&transport=websocket", 400, 3, "Bad request", map[string]any{"name": "TRANSPORT_HANDSHAKE_ERROR"}},
		{"allowRequest", "GET", "EIO=4&transport=polling&deny=1", 403, 4, "Forbidden", map[string]any{"message": "go away"}},
		{"websocket for a polling session", "GET", "EIO=4&transport=websocket&sid=" + wsSID.SID, 400, 3, "Bad request",
			map[string]any{"name": "TRANSPORT_MISMATCH", "transport": "websocket", "previousTransport": "polling"}},
	}
	for _, tc := range cases {
		before := got.count()
		resp, _ := do(t, tc.method, base+"/engine.io/?"+tc.query, "", map[string]string{"X-Probe": tc.name})
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.status)
		}
		if got.count() != before+1 {
			t.Errorf("%s: %d connection_error events, want 1", tc.name, got.count()-before)
			continue
		}
		e := got.last(t)
		if e.Code != tc.code || e.Message != tc.message || !reflect.DeepEqual(e.Context, tc.context) {
			t.Errorf("%s: got code %d %q %v, want %d %q %v", tc.name, e.Code, e.Message, e.Context, tc.code, tc.message, tc.context)
		}
		if e.Request == nil || e.Request.Method != tc.method || e.Request.Header.Get("X-Probe") != tc.name ||
			e.Request.URL.RawQuery != tc.query || e.Request.RemoteAddr == nil {
			t.Errorf("%s: request %+v", tc.name, e.Request)
		}
	}
	st := srv.Stats()
	want := map[string]uint64{"unknown_transport": 1, "unknown_sid": 1, "bad_handshake_method": 1, "unsupported_protocol_version": 1,
		"bad_request": 1, "forbidden": 1, "transport_mismatch": 1}
	for k, v := range want {
		if st.Refused[k] != v {
			t.Errorf("Refused[%q] = %d, want %d (all: %v)", k, st.Refused[k], v, st.Refused)
		}
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }

// initial_headers runs for the answer that opens a session, headers for
// every answer of a session (handshake, poll, POST, 101); what they set is
// sent, the cookie is theirs to change, error answers get neither.
func TestHeaderHooks(t *testing.T) {
	srv, base, _ := start(t, Options{Cookie: &Cookie{}})
	var mu sync.Mutex
	var initial, every []string
	srv.OnInitialHeaders(func(h http.Header, r *HandshakeRequest) {
		mu.Lock()
		initial = append(initial, r.Method+" "+r.URL.Query().Get("transport")+" "+h.Get("Set-Cookie"))
		mu.Unlock()
		h.Set("X-Initial", "yes")
		h.Set("Set-Cookie", h.Get("Set-Cookie")+"; Secure")
	})
	srv.OnHeaders(func(h http.Header, r *HandshakeRequest) {
		mu.Lock()
		every = append(every, r.Method+" "+r.URL.Query().Get("transport"))
		mu.Unlock()
		h.Set("X-Every", "1")
		h.Set("X-Bad", "a\r\nInjected: yes") // dropped: no header injection
	})
	op, resp := handshake(t, base, nil)
	if resp.Header.Get("X-Initial") != "yes" || resp.Header.Get("X-Every") != "1" || resp.Header.Get("Injected") != "" || resp.Header.Get("X-Bad") != "" {
		t.Fatalf("handshake headers %v", resp.Header)
	}
	if ck := resp.Header.Values("Set-Cookie"); len(ck) != 1 || ck[0] != "io="+op.SID+"; Path=/; Secure" {
		t.Fatalf("cookie as the hook changed it: %q", ck)
	}
	u := base + "/engine.io/?EIO=4&transport=polling&sid=" + op.SID
	if resp, _ := do(t, "POST", u, "4hi", nil); resp.Header.Get("X-Every") != "1" || resp.Header.Get("X-Initial") != "" {
		t.Fatalf("POST headers %v", resp.Header)
	}
	if resp, _ := do(t, "GET", u, "", nil); resp.Header.Get("X-Every") != "1" || resp.Header.Get("Set-Cookie") != "" {
		t.Fatalf("poll headers %v", resp.Header)
	}
	if resp, _ := do(t, "GET", base+"/engine.io/?EIO=4&transport=polling&sid=unknown", "", nil); resp.Header.Get("X-Every") != "" {
		t.Fatalf("an error answer ran the hooks: %v", resp.Header)
	}
	// A WebSocket handshake's 101 gets both; an upgrade's only headers.
	var hdr http.Header
	d := ws.Dialer{OnHeader: func(key, value []byte) error {
		if hdr == nil {
			hdr = http.Header{}
		}
		hdr.Add(string(key), string(value))
		return nil
	}}
	conn, _, _, err := d.Dial(t.Context(), strings.Replace(base, "http", "ws", 1)+"/engine.io/?EIO=4&transport=websocket")
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if hdr.Get("X-Initial") != "yes" || hdr.Get("X-Every") != "1" {
		t.Fatalf("101 of a WebSocket handshake: %v", hdr)
	}
	hdr = nil
	op2, _ := handshake(t, base, nil)
	conn, _, _, err = d.Dial(t.Context(), strings.Replace(base, "http", "ws", 1)+"/engine.io/?EIO=4&transport=websocket&sid="+op2.SID)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if hdr.Get("X-Initial") != "" || hdr.Get("X-Every") != "1" {
		t.Fatalf("101 of an upgrade: %v", hdr)
	}
	mu.Lock()
	defer mu.Unlock()
	wantInitial := []string{"GET polling io=" + op.SID + "; Path=/", "GET websocket ", "GET polling io=" + op2.SID + "; Path=/"}
	if !reflect.DeepEqual(initial, wantInitial) {
		t.Fatalf("initial_headers calls %q, want %q", initial, wantInitial)
	}
	wantEvery := []string{"GET polling", "POST polling", "GET polling", "GET websocket", "GET polling", "GET websocket"}
	if !reflect.DeepEqual(every, wantEvery) {
		t.Fatalf("headers calls %q, want %q", every, wantEvery)
	}
}

type upgradeRecorder struct {
	recordingHandler
	mu     sync.Mutex
	events []string
	done   chan struct{}
}

func (u *upgradeRecorder) OnUpgrading(s *Session, transport string) {
	u.mu.Lock()
	u.events = append(u.events, "upgrading "+transport+" "+s.Transport())
	u.mu.Unlock()
}

func (u *upgradeRecorder) OnUpgrade(s *Session, transport string) {
	u.mu.Lock()
	u.events = append(u.events, "upgrade "+transport+" "+s.Transport())
	u.mu.Unlock()
	close(u.done)
}

// A Handler that is an UpgradeHandler hears "upgrading" when the probing
// WebSocket is accepted and "upgrade" once the session uses it; the
// session gauges follow.
func TestUpgradeEventsAndGauges(t *testing.T) {
	h := &upgradeRecorder{recordingHandler: recordingHandler{reason: make(chan DisconnectReason, 4)}, done: make(chan struct{})}
	srv := NewServer(Options{})
	srv.OnConnection(func(s *Session) { s.SetHandler(h) })
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(t.Context())
	base := "http://" + srv.Addr().String()
	op, _ := handshake(t, base, nil)
	if st := srv.Stats(); st.PollingSessions != 1 || st.WebSocketSessions != 0 || st.SessionsOpened != 1 {
		t.Fatalf("after a polling handshake: %+v", st)
	}
	c := wsDial(t, "ws://"+srv.Addr().String()+"/engine.io/?EIO=4&transport=websocket&sid="+op.SID, nil)
	c.send(t, "2probe")
	if f := c.recv(t); string(f.Payload) != "3probe" {
		t.Fatalf("probe answer %q", f.Payload)
	}
	c.send(t, "5")
	select {
	case <-h.done:
	case <-time.After(10 * time.Second):
		t.Fatal("no upgrade event")
	}
	h.mu.Lock()
	got := append([]string(nil), h.events...)
	h.mu.Unlock()
	if want := []string{"upgrading websocket polling", "upgrade websocket websocket"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	c.send(t, "4hello")
	if f := c.recv(t); string(f.Payload) != "4hello" {
		t.Fatalf("echo %q", f.Payload)
	}
	st := srv.Stats()
	if st.PollingSessions != 0 || st.WebSocketSessions != 1 || st.Upgrades != 1 ||
		st.PacketsReceived != 1 || st.PacketsSent != 1 || st.BytesReceived != 5 || st.BytesSent != 5 {
		t.Fatalf("after the upgrade and an echo: %+v", st)
	}
	c.conn.Close()
	if r := <-h.reason; r != ReasonTransportClose {
		t.Fatalf("reason %q", r)
	}
	if st := srv.Stats(); st.WebSocketSessions != 0 || st.Closes[ReasonTransportClose] != 1 {
		t.Fatalf("after the close: %+v", st)
	}
}

// What a client can cause is logged with its address, and at most a burst
// per second of each kind: a flood of bad requests cannot flood the log.
func TestRefusalsLoggedRateLimited(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	_, base, _ := start(t, Options{Logger: log, MaxPayload: 100})
	for i := 0; i < 50; i++ {
		do(t, "GET", base+"/engine.io/?EIO=4&transport=polling&sid=forged", "", nil)
	}
	op, _ := handshake(t, base, nil)
	resp, _ := do(t, "POST", base+"/engine.io/?EIO=4&transport=polling&sid="+op.SID, strings.Repeat("x", 200), nil)
	if resp.StatusCode != 413 {
		t.Fatalf("oversize POST: %d", resp.StatusCode)
	}
	out := buf.String()
	refused := strings.Count(out, `msg="engine: request refused"`)
	if refused == 0 || refused > 20 {
		t.Fatalf("%d refusal lines for 50 refusals (want some, at most two bursts):\n%s", refused, out)
	}
	if !strings.Contains(out, "reason=unknown_sid") || !strings.Contains(out, "remote=127.0.0.1") {
		t.Fatalf("refusal lines lack the reason or the address:\n%s", out)
	}
	if !bytes.Contains([]byte(out), []byte("over MaxPayload")) || !strings.Contains(out, "sid="+op.SID) {
		t.Fatalf("the oversize body is not logged with its sid:\n%s", out)
	}
}
