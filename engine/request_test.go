package engine

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/fanio/fanio/internal/codec"
)

type field struct{ name, value string }

// parseHead parses a request head as the event loops do.
func parseHead(t testing.TB, head string) *codec.Request {
	t.Helper()
	req := &codec.Request{}
	if _, err := codec.ParseRequest([]byte(head), req, -1, codec.DefaultMaxHeaders); err != nil {
		t.Fatalf("ParseRequest: %v", err)
	}
	return req
}

// wantFields is what RequestHeaders must yield for req: every field in
// order, names lower-cased.
func wantFields(req *codec.Request) []field {
	var out []field
	for _, h := range req.Headers {
		out = append(out, field{strings.ToLower(string(h.Name)), string(h.Value)})
	}
	return out
}

func gotFields(s *Session) []field {
	var out []field
	for n, v := range s.RequestHead().Fields() {
		out = append(out, field{n, v})
	}
	return out
}

func TestCompactRequest(t *testing.T) {
	long := strings.Repeat("X-Long-Name-", 8) // a name past the lower-casing buffer
	cases := map[string]string{
		"bench client": "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:3203\r\n" +
			"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
		"browser": "GET /socket.io/?EIO=4&transport=websocket&sid=abc HTTP/1.1\r\nHost: example.com\r\nConnection: Upgrade\r\n" +
			"Pragma: no-cache\r\nCache-Control: no-cache\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0 Safari/537.36\r\n" +
			"Upgrade: websocket\r\nOrigin: https://example.com\r\nSec-WebSocket-Version: 13\r\nAccept-Encoding: gzip, deflate, br, zstd\r\n" +
			"Accept-Language: de-DE,de;q=0.9\r\nCookie: io=abc; theme=dark\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
			"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n",
		"odd fields": "GET /socket.io/?EIO=4&transport=polling&t=x%20y HTTP/1.1\r\nHOST: h\r\nx-multi: a\r\nX-Multi: b\r\n" +
			"X-Empty:\r\nConnection:   upgrade  \r\nConnection: something else\r\nUpgrade:\r\nX-Obs: caf\xc3\xa9\r\nX-Tab: a\tb\r\n" +
			long + ": v\r\nAccept: \x80x\r\n\r\n",
		"no fields":              "GET / HTTP/1.0\r\n\r\n",
		"engine target":          "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: h\r\n\r\n",
		"almost a common target": "GET /socket.io/?EIO=4&transport=websocket&x HTTP/1.1\r\nHost: h\r\n\r\n",
	}
	for name, head := range cases {
		t.Run(name, func(t *testing.T) {
			req := parseHead(t, head)
			s := &Session{raw: compactRequest(req, appendAddr(nil, nil))}
			if got, want := s.RequestHead().URI(), string(req.URI); got != want {
				t.Errorf("RequestURI = %q, want %q", got, want)
			}
			if got, want := gotFields(s), wantFields(req); !reflect.DeepEqual(got, want) {
				t.Errorf("RequestHeaders:\n got %q\nwant %q", got, want)
			}
		})
	}
	// What it is for: a small copy. The bench client's 180-byte head and
	// its IPv4 address take 57 bytes.
	s := compactRequest(parseHead(t, cases["bench client"]), appendAddr(nil, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}))
	if len(s) > 64 {
		t.Errorf("bench client's request kept in %d bytes, want <= 64: %q", len(s), s)
	}
	browser := parseHead(t, cases["browser"])
	none := appendAddr(nil, nil)
	if n := testing.AllocsPerRun(100, func() { _ = compactRequest(browser, none) }); n != 1 && !raceEnabled {
		t.Errorf("compactRequest allocates %.0f times, want once (its string)", n)
	}
}

func TestCompactRequestStopsEarly(t *testing.T) {
	s := &Session{raw: compactRequest(parseHead(t, "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"), appendAddr(nil, nil))}
	n := 0
	for range s.RequestHead().Fields() {
		n++
		if n == 2 {
			break
		}
	}
	if n != 2 {
		t.Fatalf("yielded %d fields before break, want 2", n)
	}
}

func TestSessionRequest(t *testing.T) {
	head := "GET /socket.io/?EIO=4&transport=polling&a=1&a=2 HTTP/1.1\r\nHost: h:1\r\nX-Multi: a\r\nx-multi: b\r\nUser-Agent: ua\r\n\r\n"
	remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2), Port: 4000}
	created := time.Unix(1700000000, 5)
	s := &Session{raw: compactRequest(parseHead(t, head), appendAddr(nil, remote)), created: created.UnixNano()}
	r := s.Request()
	if r.Method != http.MethodGet || r.RemoteAddr.String() != remote.String() || !r.Time.Equal(created) || r.Secure {
		t.Errorf("Request() = %+v", r)
	}
	if got := r.URL.RequestURI(); got != "/socket.io/?EIO=4&transport=polling&a=1&a=2" {
		t.Errorf("URL = %q", got)
	}
	if got := r.URL.Query()["a"]; !reflect.DeepEqual(got, []string{"1", "2"}) {
		t.Errorf("query a = %q", got)
	}
	want := http.Header{"Host": {"h:1"}, "X-Multi": {"a", "b"}, "User-Agent": {"ua"}}
	if !reflect.DeepEqual(r.Header, want) {
		t.Errorf("Header = %v, want %v", r.Header, want)
	}
	// A new one per call: the caller may modify it.
	r.Header.Set("X-Multi", "changed")
	if got := s.Request().Header["X-Multi"]; !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("second Request() Header X-Multi = %q", got)
	}
}

func TestRequestHeadAllocs(t *testing.T) {
	s := &Session{raw: compactRequest(parseHead(t, "GET /x HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nX-A: 1\r\n\r\n"), appendAddr(nil, nil))}
	n := testing.AllocsPerRun(100, func() {
		h := s.RequestHead()
		_ = h.Header("upgrade") + h.Header("X-A") + h.Query("EIO")
		_ = s.RequestHead().URI()
	})
	if n != 0 {
		t.Errorf("RequestHead lookups allocate %.1f times, want 0", n)
	}
}

func FuzzCompactRequest(f *testing.F) {
	f.Add("GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
	f.Add("GET / HTTP/1.1\r\nconnection: keep-alive\r\nX: \x80\r\nsec-websocket-version: 14\r\nA:\r\n\r\n")
	f.Add("GET /%0a HTTP/1.0\r\nPriority: u=1, i\r\n\r\n")
	f.Fuzz(func(t *testing.T, head string) {
		req := &codec.Request{}
		if _, err := codec.ParseRequest([]byte(head), req, -1, codec.DefaultMaxHeaders); err != nil {
			return
		}
		s := &Session{raw: compactRequest(req, appendAddr(nil, nil))}
		if got, want := s.RequestHead().URI(), string(req.URI); got != want {
			t.Fatalf("RequestURI = %q, want %q", got, want)
		}
		if got, want := gotFields(s), wantFields(req); !reflect.DeepEqual(got, want) {
			t.Fatalf("RequestHeaders:\n got %q\nwant %q", got, want)
		}
	})
}

// headWithTarget is the RequestHead of a GET of target with no fields.
func headWithTarget(t testing.TB, target string) RequestHead {
	return (&Session{raw: compactRequest(parseHead(t, "GET "+target+" HTTP/1.1\r\n\r\n"), appendAddr(nil, nil))}).RequestHead()
}

// Header, with Node.js's rules for fields sent several times (node -e
// with an http server printing req.headers, Node 20).
func TestRequestHeadHeader(t *testing.T) {
	head := "GET / HTTP/1.1\r\nHost: h1\r\nX-Multi: a\r\nx-multi:  b \r\nCookie: c1=1\r\ncookie: c2=2\r\n" +
		"User-Agent: u1\r\nUser-Agent: u2\r\nAccept: x\r\nAccept: y\r\nAuthorization: A1\r\nAuthorization: A2\r\n" +
		"X-Empty:\r\nOrigin: http://o\r\nReferer: r1\r\nReferer: r2\r\nFrom: f1\r\nFrom: f2\r\n" +
		"If-Modified-Since: i1\r\nIf-Modified-Since: i2\r\nMax-Forwards: 1\r\nMax-Forwards: 2\r\n" +
		"Proxy-Authorization: p1\r\nProxy-Authorization: p2\r\nETag: e1\r\nEtag: e2\r\n" +
		"X-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 2.2.2.2\r\nVia: v1\r\nVia: v2\r\n\r\n"
	h := (&Session{raw: compactRequest(parseHead(t, head), appendAddr(nil, nil))}).RequestHead()
	want := map[string]string{
		"host": "h1", "x-multi": "a, b", "cookie": "c1=1; c2=2", "user-agent": "u1", "accept": "x, y",
		"authorization": "A1", "x-empty": "", "origin": "http://o", "referer": "r1", "from": "f1",
		"if-modified-since": "i1", "max-forwards": "1", "proxy-authorization": "p1", "etag": "e1",
		"x-forwarded-for": "1.1.1.1, 2.2.2.2", "via": "v1, v2", "X-MULTI": "a, b", "missing": "",
	}
	for name, v := range want {
		if got := h.Header(name); got != v {
			t.Errorf("Header(%q) = %q, want %q", name, got, v)
		}
	}
	if got := h.HeaderValues("X-Multi"); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("HeaderValues(X-Multi) = %q", got)
	}
	if got := h.HeaderValues("missing"); got != nil {
		t.Errorf("HeaderValues(missing) = %q", got)
	}
	var zero RequestHead
	if zero.URI() != "" || zero.Header("a") != "" || zero.Query("a") != "" || zero.HeaderValues("a") != nil {
		t.Error("zero RequestHead is not empty")
	}
}

// The decoding of Node.js's querystring.parse (node -e
// 'console.log(require("querystring").parse(q))', Node 20).
func TestQueryDecodingAsNode(t *testing.T) {
	cases := []struct {
		query string
		want  url.Values
	}{
		{"a=1&a=2&b", url.Values{"a": {"1", "2"}, "b": {""}}},
		{"a=%zz&b=%41%42+c", url.Values{"a": {"%zz"}, "b": {"AB c"}}},
		{"&&a=1&=x&=&c==d", url.Values{"a": {"1"}, "": {"x", ""}, "c": {"=d"}}},
		{"x=%FF%FE&y=%E2%82&z=%E2%82%AC", url.Values{"x": {"\uFFFD\uFFFD"}, "y": {"\uFFFD"}, "z": {"€"}}},
		{"a+b=c+d&%61=e", url.Values{"a b": {"c d"}, "a": {"e"}}},
		{"k=v;w", url.Values{"k": {"v;w"}}},
		{"a=%41%", url.Values{"a": {"A%"}}},
		{"a=%4", url.Values{"a": {"%4"}}},
		{"%=%", url.Values{"%": {"%"}}},
		{"a=%C3%A9%C3", url.Values{"a": {"é\uFFFD"}}},
		{"a=%ED%A0%80", url.Values{"a": {"\uFFFD\uFFFD\uFFFD"}}},
		{"a=%F0%9F%98", url.Values{"a": {"\uFFFD"}}},
		{"a=%e2%82%ac", url.Values{"a": {"€"}}},
		{"", url.Values{}},
	}
	for _, tc := range cases {
		got := url.Values{}
		for k, v := range headWithTarget(t, "/p?"+tc.query).QueryParams() {
			got[k] = append(got[k], v)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: got %q, want %q", tc.query, got, tc.want)
		}
	}
	// maxKeys (1000) counts '&'-separated parts, empty ones included.
	for _, tc := range []struct {
		prefix string
		want   int
	}{{"", 1000}, {"&&&", 997}} {
		var parts []string
		for i := range 1005 {
			parts = append(parts, fmt.Sprintf("k%d=%d", i, i))
		}
		n := 0
		for range headWithTarget(t, "/p?"+tc.prefix+strings.Join(parts, "&")).QueryParams() {
			n++
		}
		if n != tc.want {
			t.Errorf("prefix %q: %d parameters, want %d", tc.prefix, n, tc.want)
		}
	}
}

func FuzzDecodeQueryComponent(f *testing.F) {
	for _, s := range []string{"%zz", "a+b", "%E2%82", "%ED%A0%80", "%F4%90%80%80", "\xff", "é", "%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := decodeQueryComponent(s)
		if !strings.Contains(s, "%") && !strings.Contains(s, "+") && !strings.ContainsFunc(s, func(r rune) bool { return r == '\uFFFD' }) && utf8.ValidString(s) && d != s {
			t.Fatalf("%q decoded to %q with nothing to decode", s, d)
		}
		if !utf8.ValidString(d) {
			t.Fatalf("%q decoded to invalid UTF-8 %q", s, d)
		}
		if len(d) > 3*len(s) {
			t.Fatalf("%q decoded to %d bytes", s, len(d))
		}
	})
}

func TestCompactRequestAddress(t *testing.T) {
	head := "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\r\n"
	long := strings.Repeat("x", 300)
	cases := []struct {
		addr          net.Addr
		network, want string // of the address read back ("" network: nil)
	}{
		{nil, "", ""},
		{&net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 65535}, "tcp", "10.1.2.3:65535"},
		{&net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 443}, "tcp", "[2001:db8::1]:443"},
		{&net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 80, Zone: "eth0"}, "tcp", "[fe80::1%eth0]:80"},
		{&net.UnixAddr{Name: "/run/app.sock", Net: "unix"}, "unix", "/run/app.sock"},
		{stringAddr("cluster node n1"), "tcp", "cluster node n1"},
		{otherAddr{"unix", long}, "unix", long[:255]},
	}
	for _, tc := range cases {
		s := &Session{raw: compactRequest(parseHead(t, head), appendAddr(nil, tc.addr))}
		got := s.RemoteAddr()
		switch {
		case tc.network == "":
			if got != nil {
				t.Errorf("%v: RemoteAddr() = %v, want nil", tc.addr, got)
			}
		case got == nil:
			t.Errorf("%v: RemoteAddr() = nil", tc.addr)
		case got.Network() != tc.network || got.String() != tc.want:
			t.Errorf("%v: RemoteAddr() = %s %q, want %s %q", tc.addr, got.Network(), got, tc.network, tc.want)
		}
		if _, isTCP := tc.addr.(*net.TCPAddr); isTCP {
			if _, ok := got.(*net.TCPAddr); !ok {
				t.Errorf("%v: RemoteAddr() is a %T, want a *net.TCPAddr", tc.addr, got)
			}
		}
		h := s.RequestHead()
		if h.URI() != "/socket.io/?EIO=4&transport=websocket" || h.Header("x-a") != "1" || h.Header("host") != "h" {
			t.Errorf("%v: the request read back wrong: URI %q x-a %q host %q", tc.addr, h.URI(), h.Header("x-a"), h.Header("host"))
		}
	}
	browser := parseHead(t, head)
	v4 := appendAddrPort(nil, netip.MustParseAddrPort("10.1.2.3:1"))
	if n := testing.AllocsPerRun(100, func() { _ = compactRequest(browser, v4) }); n != 1 && !raceEnabled {
		t.Errorf("compactRequest with an address allocates %.0f times, want once (its string)", n)
	}
}
