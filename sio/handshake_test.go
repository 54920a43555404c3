package sio

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"testing"
	"time"

	"github.com/fanio/fanio/internal/siotest"
)

// handshakeServer starts a server whose sockets are sent to the returned
// channel as they connect.
func handshakeServer(t *testing.T) (*Server, chan *Socket) {
	srv := startServer(t, Options{})
	got := make(chan *Socket, 4)
	srv.OnConnection(func(s *Socket) { got <- s })
	return srv, got
}

func nextSocket(t *testing.T, ch chan *Socket) *Socket {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no socket connected")
		return nil
	}
}

// The values asserted here are those the reference's socket.handshake
// gives for the same request (test/node/sio/handshake.mjs checks both
// servers against the same expectations, over the official client).
func TestHandshakeView(t *testing.T) {
	srv, sockets := handshakeServer(t)
	addr := srv.Addr().String()
	before := time.Now()
	c := siotest.DialWith(t, addr, siotest.DialOptions{
		Query: "a=1&a=2&b=x+y&c=%41%zz&d=%E2%82&e&%C3%A9=k",
		Header: http.Header{
			"X-Multi":    {"a", "b"},
			"Cookie":     {"c1=1", "c2=2"},
			"User-Agent": {"u1", "u2"},
			"Origin":     {"http://example.com"},
			"X-Empty":    {""},
		},
	})
	c.Connect("/", `{"token":"t","n":1}`)
	s := nextSocket(t, sockets)
	hs := s.Handshake()

	headers := []struct {
		name   string
		want   string
		values []string
	}{
		{"X-Multi", "a, b", []string{"a", "b"}},
		{"x-MULTI", "a, b", []string{"a", "b"}},
		{"cookie", "c1=1; c2=2", []string{"c1=1", "c2=2"}},
		{"User-Agent", "u1", []string{"u1", "u2"}}, // Node keeps the first
		{"origin", "http://example.com", []string{"http://example.com"}},
		{"X-Empty", "", []string{""}},
		{"Upgrade", "websocket", []string{"websocket"}},
		{"Host", addr, []string{addr}},
		{"X-Missing", "", nil},
	}
	for _, h := range headers {
		if got := hs.Header(h.name); got != h.want {
			t.Errorf("Header(%q) = %q, want %q", h.name, got, h.want)
		}
		if got := hs.HeaderValues(h.name); !reflect.DeepEqual(got, h.values) {
			t.Errorf("HeaderValues(%q) = %q, want %q", h.name, got, h.values)
		}
	}

	query := []struct {
		name   string
		want   string
		values []string
	}{
		{"EIO", "4", []string{"4"}},
		{"transport", "websocket", []string{"websocket"}},
		{"a", "1", []string{"1", "2"}},
		{"b", "x y", []string{"x y"}},
		{"c", "A%zz", []string{"A%zz"}}, // a malformed escape is kept
		{"d", "\uFFFD", []string{"\uFFFD"}},
		{"e", "", []string{""}},
		{"é", "k", []string{"k"}},
		{"missing", "", nil},
	}
	for _, q := range query {
		if got := hs.Query(q.name); got != q.want {
			t.Errorf("Query(%q) = %q, want %q", q.name, got, q.want)
		}
		if got := hs.QueryValues(q.name); !reflect.DeepEqual(got, q.values) {
			t.Errorf("QueryValues(%q) = %q, want %q", q.name, got, q.values)
		}
	}

	wantURL := "/socket.io/?EIO=4&transport=websocket&a=1&a=2&b=x+y&c=%41%zz&d=%E2%82&e&%C3%A9=k"
	if got := hs.URL(); got != wantURL {
		t.Errorf("URL() = %q, want %q", got, wantURL)
	}
	if got := string(hs.Auth()); got != `{"token":"t","n":1}` {
		t.Errorf("Auth() = %s", got)
	}
	if got := hs.Address(); got != "127.0.0.1" {
		t.Errorf("Address() = %q", got)
	}
	if !hs.XDomain() {
		t.Error("XDomain() = false with an Origin header")
	}
	if hs.Secure() {
		t.Error("Secure() = true on plain TCP")
	}
	if tm := hs.Time(); tm.Before(before.Add(-time.Second)) || tm.After(time.Now().Add(time.Second)) {
		t.Errorf("Time() = %v, not around the connect (%v)", tm, before)
	}
	if hs.Issued() != hs.Time().UnixMilli() {
		t.Errorf("Issued() = %d, Time() in ms = %d", hs.Issued(), hs.Time().UnixMilli())
	}

	full := hs.Full()
	want := &Handshake{
		Headers: http.Header{
			"X-Multi": {"a", "b"}, "Cookie": {"c1=1", "c2=2"}, "User-Agent": {"u1", "u2"},
			"Origin": {"http://example.com"}, "X-Empty": {""},
		},
		Time: hs.Time(), Address: "127.0.0.1", XDomain: true, Issued: hs.Issued(), URL: wantURL,
		Query: url.Values{
			"EIO": {"4"}, "transport": {"websocket"}, "a": {"1", "2"}, "b": {"x y"},
			"c": {"A%zz"}, "d": {"\uFFFD"}, "e": {""}, "é": {"k"},
		},
		Auth: json.RawMessage(`{"token":"t","n":1}`),
	}
	// The WebSocket handshake's own fields are there too.
	for _, k := range []string{"Host", "Upgrade", "Connection", "Sec-Websocket-Key", "Sec-Websocket-Version"} {
		if len(full.Headers[k]) != 1 {
			t.Errorf("Full().Headers[%q] = %q, want one value", k, full.Headers[k])
		}
		want.Headers[k] = full.Headers[k]
	}
	if !reflect.DeepEqual(full, want) {
		t.Errorf("Full() =\n%+v\nwant\n%+v", full, want)
	}
	// Each call builds a new object the caller owns.
	full.Auth[2] = 'X'
	full.Headers.Set("X-Multi", "changed")
	if again := hs.Full(); string(again.Auth) != `{"token":"t","n":1}` || again.Headers.Get("X-Multi") != "a" || again == full {
		t.Errorf("a second Full() shares the first one's data: %+v", again)
	}
	if got := string(hs.Auth()); got != `{"token":"t","n":1}` {
		t.Errorf("Auth() after modifying Full().Auth = %s", got)
	}

	// Still readable after the socket disconnected.
	c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for s.Connected() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if s.Connected() {
		t.Fatal("socket still connected after the client closed")
	}
	if hs.Header("x-multi") != "a, b" || hs.Query("a") != "1" {
		t.Error("handshake unreadable after disconnect")
	}
}

func TestHandshakeViewNoOrigin(t *testing.T) {
	srv, sockets := handshakeServer(t)
	c := siotest.Dial(t, srv.Addr().String())
	c.Connect("/", "")
	hs := nextSocket(t, sockets).Handshake()
	if hs.XDomain() {
		t.Error("XDomain() = true without an Origin header")
	}
	if got := string(hs.Auth()); got != "{}" {
		t.Errorf("Auth() without a payload = %s, want {}", got)
	}
	if got := hs.Full().Auth; string(got) != "{}" {
		t.Errorf("Full().Auth without a payload = %s, want {}", got)
	}
}

// Reading single values allocates nothing when there is nothing to join
// or decode: middleware that reads a token and a header leaves no garbage.
func TestHandshakeViewAllocs(t *testing.T) {
	srv, sockets := handshakeServer(t)
	c := siotest.DialWith(t, srv.Addr().String(), siotest.DialOptions{
		Query:  "token=abc",
		Header: http.Header{"User-Agent": {"ua"}, "Authorization": {"Bearer x"}},
	})
	c.Connect("/", `{"token":"t"}`)
	hs := nextSocket(t, sockets).Handshake()
	var sink int
	n := testing.AllocsPerRun(100, func() {
		sink += len(hs.Header("User-Agent")) + len(hs.Header("authorization")) + len(hs.Query("token")) +
			len(hs.Auth()) + len(hs.URL())
		if hs.XDomain() || hs.Secure() {
			sink++
		}
	})
	if n != 0 {
		t.Errorf("single-value reads allocate %.1f times per run, want 0", n)
	}
	_ = sink
}

func TestHandshakeViewZero(t *testing.T) {
	var hs HandshakeView
	if hs.Header("x") != "" || hs.HeaderValues("x") != nil || hs.Query("x") != "" || hs.QueryValues("x") != nil ||
		hs.Address() != "" || hs.URL() != "" || hs.XDomain() || hs.Secure() || hs.Issued() != 0 || !hs.Time().IsZero() {
		t.Error("zero HandshakeView is not empty")
	}
	if string(hs.Auth()) != "{}" {
		t.Errorf("zero Auth() = %s", hs.Auth())
	}
	f := hs.Full()
	if f == nil || f.Headers == nil || f.Query == nil || len(f.Headers) != 0 || len(f.Query) != 0 {
		t.Errorf("zero Full() = %+v", f)
	}
}
