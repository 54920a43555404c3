package codec

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

const simpleGET = "GET /socket.io/?EIO=4&transport=polling&t=N8hyd6w HTTP/1.1\r\n" +
	"Host: localhost:3000\r\n" +
	"User-Agent: test\r\n" +
	"Accept: */*\r\n" +
	"\r\n"

const upgradeGET = "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n" +
	"Host: example.com\r\n" +
	"Upgrade: WebSocket\r\n" +
	"Connection: keep-alive, Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
	"Sec-WebSocket-Version: 13\r\n" +
	"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
	"\r\n"

func TestParseRequestOK(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		n         int // -1: len(in)
		method    string
		uri       string
		path      string
		query     string
		noQuery   bool
		minor     int
		cl        int64
		chunked   bool
		keepAlive bool
		upgrade   bool
		headers   int
	}{
		{
			name: "simple get", in: simpleGET, n: -1, method: "GET",
			uri: "/socket.io/?EIO=4&transport=polling&t=N8hyd6w", path: "/socket.io/",
			query: "EIO=4&transport=polling&t=N8hyd6w", minor: 1, cl: -1, keepAlive: true, headers: 3,
		},
		{
			name: "upgrade", in: upgradeGET, n: -1, method: "GET",
			uri: "/socket.io/?EIO=4&transport=websocket", path: "/socket.io/",
			query: "EIO=4&transport=websocket", minor: 1, cl: -1, keepAlive: true, upgrade: true, headers: 6,
		},
		{
			name: "bare LF", in: "POST /x HTTP/1.1\nContent-Length: 5\n\nhello", n: 36, method: "POST",
			uri: "/x", path: "/x", noQuery: true, minor: 1, cl: 5, keepAlive: true, headers: 1,
		},
		{
			name: "http/1.0 default close", in: "GET / HTTP/1.0\r\n\r\n", n: -1, method: "GET",
			uri: "/", path: "/", noQuery: true, minor: 0, cl: -1,
		},
		{
			name: "http/1.0 keep-alive", in: "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", n: -1, method: "GET",
			uri: "/", path: "/", noQuery: true, minor: 0, cl: -1, keepAlive: true, headers: 1,
		},
		{
			name: "http/1.1 close", in: "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", n: -1, method: "GET",
			uri: "/", path: "/", noQuery: true, minor: 1, cl: -1, headers: 1,
		},
		{
			name: "chunked", in: "POST /p?a HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n", n: -1, method: "POST",
			uri: "/p?a", path: "/p", query: "a", minor: 1, cl: -1, chunked: true, keepAlive: true, headers: 1,
		},
		{
			name: "duplicate equal content-length", in: "POST / HTTP/1.1\r\nContent-Length: 3\r\ncontent-length: 003\r\n\r\n",
			n: -1, method: "POST", uri: "/", path: "/", noQuery: true, minor: 1, cl: 3, keepAlive: true, headers: 2,
		},
		{
			name: "leading empty lines", in: "\r\n\nGET / HTTP/1.1\r\n\r\n", n: -1, method: "GET",
			uri: "/", path: "/", noQuery: true, minor: 1, cl: -1, keepAlive: true,
		},
		{
			name: "empty query", in: "GET /? HTTP/1.1\r\n\r\n", n: -1, method: "GET",
			uri: "/?", path: "/", query: "", minor: 1, cl: -1, keepAlive: true,
		},
		{
			name: "upgrade without connection token", in: "GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", n: -1,
			method: "GET", uri: "/", path: "/", noQuery: true, minor: 1, cl: -1, keepAlive: true, headers: 1,
		},
		{
			name: "empty value and OWS", in: "GET / HTTP/1.1\r\nX-Empty:\r\nX-Pad: \t v a \t\r\n\r\n", n: -1,
			method: "GET", uri: "/", path: "/", noQuery: true, minor: 1, cl: -1, keepAlive: true, headers: 2,
		},
		{
			name: "obs-text in value and target", in: "GET /\xc3\xa9 HTTP/1.1\r\nX: caf\xc3\xa9\r\n\r\n", n: -1,
			method: "GET", uri: "/\xc3\xa9", path: "/\xc3\xa9", noQuery: true, minor: 1, cl: -1, keepAlive: true, headers: 1,
		},
	}
	var req Request
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := ParseRequest([]byte(tt.in), &req, 8192, DefaultMaxHeaders)
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			want := tt.n
			if want < 0 {
				want = len(tt.in)
			}
			if n != want {
				t.Errorf("n = %d, want %d", n, want)
			}
			if string(req.Method) != tt.method || string(req.URI) != tt.uri || string(req.Path) != tt.path {
				t.Errorf("method/uri/path = %q %q %q", req.Method, req.URI, req.Path)
			}
			if tt.noQuery {
				if req.RawQuery != nil {
					t.Errorf("RawQuery = %q, want nil", req.RawQuery)
				}
			} else if req.RawQuery == nil || string(req.RawQuery) != tt.query {
				t.Errorf("RawQuery = %q, want %q", req.RawQuery, tt.query)
			}
			if req.ProtoMinor != tt.minor || req.ContentLength != tt.cl || req.Chunked != tt.chunked ||
				req.KeepAlive != tt.keepAlive || req.Upgrade != tt.upgrade || len(req.Headers) != tt.headers {
				t.Errorf("minor=%d cl=%d chunked=%v keepalive=%v upgrade=%v headers=%d",
					req.ProtoMinor, req.ContentLength, req.Chunked, req.KeepAlive, req.Upgrade, len(req.Headers))
			}
		})
	}
}

func TestRequestHeader(t *testing.T) {
	var req Request
	in := "GET / HTTP/1.1\r\nHost: a\r\nX-Empty:  \r\nX-Dup: 1\r\nx-dup: 2\r\nX-Pad: \t v a \t\r\n\r\n"
	if _, err := ParseRequest([]byte(in), &req, -1, DefaultMaxHeaders); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		want string
		nil  bool
	}{
		{name: "host", want: "a"},
		{name: "HOST", want: "a"},
		{name: "x-empty", want: ""},
		{name: "X-DUP", want: "1"},
		{name: "x-pad", want: "v a"},
		{name: "missing", nil: true},
	} {
		got := req.Header(c.name)
		if c.nil != (got == nil) || string(got) != c.want {
			t.Errorf("Header(%q) = %q (nil=%v)", c.name, got, got == nil)
		}
	}
	req.Reset()
	if len(req.Headers) != 0 || req.Header("host") != nil || req.ContentLength != -1 || req.Method != nil {
		t.Errorf("Reset left %+v", req)
	}
}

func TestParseRequestPipelined(t *testing.T) {
	first := "POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\n"
	buf := []byte(first + "abc" + simpleGET)
	var req Request
	n, err := ParseRequest(buf, &req, 8192, DefaultMaxHeaders)
	if err != nil || n != len(first) {
		t.Fatalf("first: n=%d err=%v", n, err)
	}
	if string(req.Path) != "/a" || req.ContentLength != 3 {
		t.Fatalf("first: %q %d", req.Path, req.ContentLength)
	}
	rest := buf[n+3:]
	n2, err := ParseRequest(rest, &req, 8192, DefaultMaxHeaders)
	if err != nil || n2 != len(simpleGET) || string(req.Path) != "/socket.io/" {
		t.Fatalf("second: n=%d err=%v path=%q", n2, err, req.Path)
	}
	// Two GETs back to back.
	two := []byte(simpleGET + upgradeGET)
	n, err = ParseRequest(two, &req, 8192, DefaultMaxHeaders)
	if err != nil || n != len(simpleGET) || req.Upgrade {
		t.Fatalf("two gets: n=%d err=%v upgrade=%v", n, err, req.Upgrade)
	}
	n, err = ParseRequest(two[n:], &req, 8192, DefaultMaxHeaders)
	if err != nil || n != len(upgradeGET) || !req.Upgrade {
		t.Fatalf("two gets, second: n=%d err=%v upgrade=%v", n, err, req.Upgrade)
	}
}

func TestParseRequestIncremental(t *testing.T) {
	var req Request
	for _, full := range []string{simpleGET, upgradeGET, "GET / HTTP/1.1\n\n"} {
		for k := 0; k < len(full); k++ {
			n, err := ParseRequest([]byte(full[:k]), &req, 8192, DefaultMaxHeaders)
			if err != ErrIncomplete || n != 0 {
				t.Fatalf("prefix %d of %q: n=%d err=%v", k, full, n, err)
			}
		}
		n, err := ParseRequest([]byte(full), &req, 8192, DefaultMaxHeaders)
		if err != nil || n != len(full) {
			t.Fatalf("full %q: n=%d err=%v", full, n, err)
		}
	}
}

func TestParseRequestTooLarge(t *testing.T) {
	var req Request
	big := "GET / HTTP/1.1\r\nX-Big: " + strings.Repeat("a", 200) + "\r\n\r\n"
	// Incomplete and over the limit.
	if _, err := ParseRequest([]byte(big[:150]), &req, 100, DefaultMaxHeaders); !errors.Is(err, ErrHeaderTooLarge) {
		t.Errorf("incomplete over limit: %v", err)
	}
	// Incomplete and within the limit.
	if _, err := ParseRequest([]byte(big[:100]), &req, 100, DefaultMaxHeaders); err != ErrIncomplete {
		t.Errorf("incomplete at limit: %v", err)
	}
	// Complete but longer than the limit.
	if _, err := ParseRequest([]byte(big), &req, 100, DefaultMaxHeaders); !errors.Is(err, ErrHeaderTooLarge) {
		t.Errorf("complete over limit: %v", err)
	}
	// Exactly at the limit.
	if n, err := ParseRequest([]byte(big), &req, len(big), DefaultMaxHeaders); err != nil || n != len(big) {
		t.Errorf("exact limit: n=%d err=%v", n, err)
	}
	// No limit.
	if n, err := ParseRequest([]byte(big), &req, -1, DefaultMaxHeaders); err != nil || n != len(big) {
		t.Errorf("no limit: n=%d err=%v", n, err)
	}
	// A body after the header block does not count.
	withBody := big + strings.Repeat("b", 1000)
	if n, err := ParseRequest([]byte(withBody), &req, len(big), DefaultMaxHeaders); err != nil || n != len(big) {
		t.Errorf("body after header: n=%d err=%v", n, err)
	}
}

func TestParseRequestErrors(t *testing.T) {
	var req Request
	tests := []struct {
		name string
		in   string
		want error
	}{
		{name: "empty method", in: " / HTTP/1.1\r\n\r\n", want: ErrMalformedRequestLine},
		{name: "bad method char", in: "G(T / HTTP/1.1\r\n\r\n", want: ErrMalformedRequestLine},
		{name: "double space", in: "GET  / HTTP/1.1\r\n\r\n", want: ErrMalformedRequestLine},
		{name: "tab separator", in: "GET\t/ HTTP/1.1\r\n\r\n", want: ErrMalformedRequestLine},
		{name: "no target", in: "GET HTTP/1.1\r\n\r\n", want: ErrMalformedRequestLine},
		{name: "space in target", in: "GET /a b HTTP/1.1\r\n\r\n", want: ErrMalformedRequestLine},
		{name: "control in target", in: "GET /a\x01b HTTP/1.1\r\n\r\n", want: ErrMalformedRequestLine},
		{name: "DEL in target", in: "GET /a\x7f HTTP/1.1\r\n\r\n", want: ErrMalformedRequestLine},
		{name: "NUL in target", in: "GET /\x00 HTTP/1.1\r\n\r\n", want: ErrMalformedRequestLine},
		{name: "no version", in: "GET /\r\n\r\n", want: ErrMalformedRequestLine},
		{name: "lowercase version", in: "GET / http/1.1\r\n\r\n", want: ErrMalformedRequestLine},
		{name: "trailing space", in: "GET / HTTP/1.1 \r\n\r\n", want: ErrMalformedRequestLine},
		{name: "bare CR before request", in: "\rGET / HTTP/1.1\r\n\r\n", want: ErrMalformedRequestLine},
		{name: "http/2.0", in: "GET / HTTP/2.0\r\n\r\n", want: ErrUnsupportedVersion},
		{name: "http/1.2", in: "GET / HTTP/1.2\r\n\r\n", want: ErrUnsupportedVersion},
		{name: "http/0.9", in: "GET / HTTP/0.9\r\n\r\n", want: ErrUnsupportedVersion},
		{name: "obs-fold", in: "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", want: ErrMalformedHeader},
		{name: "obs-fold tab", in: "GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n", want: ErrMalformedHeader},
		{name: "missing colon", in: "GET / HTTP/1.1\r\nXab\r\n\r\n", want: ErrMalformedHeader},
		{name: "space before colon", in: "GET / HTTP/1.1\r\nHost : a\r\n\r\n", want: ErrMalformedHeader},
		{name: "empty name", in: "GET / HTTP/1.1\r\n: a\r\n\r\n", want: ErrMalformedHeader},
		{name: "bad name char", in: "GET / HTTP/1.1\r\nX(y): a\r\n\r\n", want: ErrMalformedHeader},
		{name: "control in value", in: "GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n", want: ErrMalformedHeader},
		{name: "bare CR in value", in: "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", want: ErrMalformedHeader},
		{name: "two Host fields", in: "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", want: ErrMalformedHeader},
		{name: "CL conflict", in: "POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", want: ErrBadContentLength},
		{name: "CL negative", in: "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", want: ErrBadContentLength},
		{name: "CL plus", in: "POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n", want: ErrBadContentLength},
		{name: "CL alpha", in: "POST / HTTP/1.1\r\nContent-Length: 1a\r\n\r\n", want: ErrBadContentLength},
		{name: "CL empty", in: "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", want: ErrBadContentLength},
		{name: "CL list", in: "POST / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\n", want: ErrBadContentLength},
		{name: "CL overflow", in: "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", want: ErrBadContentLength},
		{name: "CL with TE", in: "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", want: ErrBadContentLength},
		{name: "TE gzip", in: "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", want: ErrUnsupportedTransferEncoding},
		{name: "TE gzip, chunked", in: "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", want: ErrUnsupportedTransferEncoding},
		{name: "TE chunked, gzip", in: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", want: ErrUnsupportedTransferEncoding},
		{name: "TE identity", in: "POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n", want: ErrUnsupportedTransferEncoding},
		{name: "TE chunked twice", in: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", want: ErrMalformedHeader},
		{name: "TE empty", in: "POST / HTTP/1.1\r\nTransfer-Encoding: \r\n\r\n", want: ErrMalformedHeader},
		{name: "TE in 1.0", in: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", want: ErrMalformedHeader},
		{name: "error in complete line of incomplete block", in: "GET / HTTP/1.1\r\nBad Header: x\r\nHost", want: ErrMalformedHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := ParseRequest([]byte(tt.in), &req, 8192, DefaultMaxHeaders)
			if !errors.Is(err, tt.want) || n != 0 {
				t.Fatalf("n=%d err=%v, want %v", n, err, tt.want)
			}
			if err.Error() == tt.want.Error() {
				t.Errorf("error %q carries no detail", err)
			}
		})
	}
}

// Header fields are counted against the limit given, not a fixed array:
// hundreds of fields within the byte limit parse (a browser behind a CDN
// sends 30-40), in order, and the Request gives its big array back.
func TestParseRequestHeaderCount(t *testing.T) {
	fields := func(n int) string {
		var b strings.Builder
		b.WriteString("GET / HTTP/1.1\r\nHost: h\r\n")
		for i := 1; i < n; i++ {
			fmt.Fprintf(&b, "X-%d: v%d\r\n", i, i)
		}
		return b.String() + "\r\n"
	}
	var req Request
	if _, err := ParseRequest([]byte(fields(10)), &req, -1, 10); err != nil {
		t.Fatalf("10 fields, limit 10: %v", err)
	}
	if _, err := ParseRequest([]byte(fields(11)), &req, -1, 10); !errors.Is(err, ErrTooManyHeaders) {
		t.Fatalf("11 fields, limit 10: %v, want ErrTooManyHeaders", err)
	}
	in := fields(300)
	if len(in) > 16<<10 {
		t.Fatalf("test input is %d bytes", len(in))
	}
	n, err := ParseRequest([]byte(in), &req, 16<<10, DefaultMaxHeaders)
	if err != nil || n != len(in) {
		t.Fatalf("300 fields in %d bytes: n=%d err=%v", len(in), n, err)
	}
	if len(req.Headers) != 300 || string(req.Host) != "h" {
		t.Fatalf("got %d fields, Host %q", len(req.Headers), req.Host)
	}
	for i := 1; i < 300; i++ {
		if h := req.Headers[i]; string(h.Name) != fmt.Sprintf("X-%d", i) || string(h.Value) != fmt.Sprintf("v%d", i) {
			t.Fatalf("field %d = %q: %q", i, h.Name, h.Value)
		}
	}
	if v := req.Header("x-299"); string(v) != "v299" {
		t.Fatalf("Header(x-299) = %q", v)
	}
	if _, err := ParseRequest([]byte(fields(DefaultMaxHeaders+1)), &req, -1, DefaultMaxHeaders); !errors.Is(err, ErrTooManyHeaders) {
		t.Fatalf("%d fields: %v, want ErrTooManyHeaders", DefaultMaxHeaders+1, err)
	}
	if _, err := ParseRequest([]byte(simpleGET), &req, -1, DefaultMaxHeaders); err != nil {
		t.Fatal(err)
	}
	if cap(req.Headers) > inlineHeaders {
		t.Errorf("Request kept %d header slots after a small request", cap(req.Headers))
	}
	noHost := "GET / HTTP/1.1\r\nX: y\r\n\r\n"
	if _, err := ParseRequest([]byte(noHost), &req, -1, DefaultMaxHeaders); err != nil || req.Host != nil {
		t.Fatalf("no Host: err %v, Host %q", err, req.Host)
	}
	emptyHost := "GET / HTTP/1.1\r\nHost:\r\n\r\n"
	if _, err := ParseRequest([]byte(emptyHost), &req, -1, DefaultMaxHeaders); err != nil || req.Host == nil || len(req.Host) != 0 {
		t.Fatalf("empty Host: err %v, Host %q (nil %v)", err, req.Host, req.Host == nil)
	}
}

func TestHeaderContainsToken(t *testing.T) {
	tests := []struct {
		v     string
		token string
		want  bool
	}{
		{v: "Upgrade", token: "upgrade", want: true},
		{v: "keep-alive, Upgrade", token: "upgrade", want: true},
		{v: "keep-alive,upgrade ", token: "upgrade", want: true},
		{v: " , ,upgrade", token: "upgrade", want: true},
		{v: "upgrades", token: "upgrade", want: false},
		{v: "", token: "upgrade", want: false},
		{v: "100-Continue", token: "100-continue", want: true},
		{v: `"a,upgrade"`, token: "upgrade", want: false},
		{v: "gzip;q=1", token: "gzip", want: false},
	}
	for _, tt := range tests {
		if got := HeaderContainsToken([]byte(tt.v), tt.token); got != tt.want {
			t.Errorf("HeaderContainsToken(%q, %q) = %v", tt.v, tt.token, got)
		}
	}
}

func TestAcceptsEncoding(t *testing.T) {
	tests := []struct {
		v      string
		coding string
		want   bool
	}{
		{v: "gzip, deflate, br", coding: "gzip", want: true},
		{v: "GZIP", coding: "gzip", want: true},
		{v: "deflate, br", coding: "gzip", want: false},
		{v: "gzip;q=0", coding: "gzip", want: false},
		{v: "gzip; q=0.000", coding: "gzip", want: false},
		{v: "gzip;Q=0.0, *", coding: "gzip", want: false},
		{v: "gzip;q=0.001", coding: "gzip", want: true},
		{v: "gzip;q=1.0", coding: "gzip", want: true},
		{v: "gzip;q=0.0000", coding: "gzip", want: true},
		{v: "*", coding: "gzip", want: true},
		{v: "*;q=0", coding: "gzip", want: false},
		{v: "*;q=0, gzip", coding: "gzip", want: true},
		{v: "", coding: "gzip", want: false},
		{v: "", coding: "identity", want: true},
		{v: "identity;q=0", coding: "identity", want: false},
		{v: "*;q=0", coding: "identity", want: false},
		{v: "br;q=0.5, gzip;q=0.8", coding: "gzip", want: true},
	}
	for _, tt := range tests {
		if got := AcceptsEncoding([]byte(tt.v), tt.coding); got != tt.want {
			t.Errorf("AcceptsEncoding(%q, %q) = %v", tt.v, tt.coding, got)
		}
	}
}

func TestQueryValue(t *testing.T) {
	tests := []struct {
		q    string
		key  string
		want string
		ok   bool
	}{
		{q: "EIO=4&transport=polling&t=abc", key: "EIO", want: "4", ok: true},
		{q: "EIO=4&transport=polling&t=abc", key: "transport", want: "polling", ok: true},
		{q: "EIO=4&transport=polling&t=abc", key: "t", want: "abc", ok: true},
		{q: "EIO=4&transport=polling&t=abc", key: "sid", ok: false},
		{q: "b64&EIO=4", key: "b64", want: "", ok: true},
		{q: "a=1&a=2", key: "a", want: "1", ok: true},
		{q: "a=&b=2", key: "a", want: "", ok: true},
		{q: "a=x%20y", key: "a", want: "x%20y", ok: true},
		{q: "a=b=c", key: "a", want: "b=c", ok: true},
		{q: "&&a=1&", key: "a", want: "1", ok: true},
		{q: "", key: "a", ok: false},
		{q: "=1", key: "", want: "1", ok: true},
		{q: "A=1", key: "a", ok: false},
	}
	for _, tt := range tests {
		got, ok := QueryValue([]byte(tt.q), tt.key)
		if ok != tt.ok || string(got) != tt.want {
			t.Errorf("QueryValue(%q, %q) = %q, %v", tt.q, tt.key, got, ok)
		}
		if ok && got == nil {
			t.Errorf("QueryValue(%q, %q): ok with nil value", tt.q, tt.key)
		}
	}
}

func TestAppendUnescape(t *testing.T) {
	tests := []struct {
		in   string
		want string
		err  bool
	}{
		{in: "abc", want: "abc"},
		{in: "a+b", want: "a b"},
		{in: "a%20b%2Bc", want: "a b+c"},
		{in: "%e2%82%ac", want: "€"},
		{in: "%", err: true},
		{in: "%2", err: true},
		{in: "%zz", err: true},
		{in: "a%2g", err: true},
		{in: "", want: ""},
	}
	for _, tt := range tests {
		got, err := AppendUnescape([]byte("pre:"), []byte(tt.in))
		if tt.err {
			if !errors.Is(err, ErrBadEscape) || string(got) != "pre:" {
				t.Errorf("AppendUnescape(%q) = %q, %v; want ErrBadEscape", tt.in, got, err)
			}
			continue
		}
		if err != nil || string(got) != "pre:"+tt.want {
			t.Errorf("AppendUnescape(%q) = %q, %v", tt.in, got, err)
		}
	}
}

func TestDecodeChunked(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want string
		n    int // -1: len(in)
		err  error
	}{
		{name: "simple", in: "5\r\nhello\r\n0\r\n\r\n", max: 100, want: "hello", n: -1},
		{name: "two chunks", in: "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", max: 100, want: "hello world", n: -1},
		{name: "hex upper", in: "A\r\n0123456789\r\n0\r\n\r\n", max: 100, want: "0123456789", n: -1},
		{name: "extension", in: "5;foo=bar\r\nhello\r\n0;x\r\n\r\n", max: 100, want: "hello", n: -1},
		{name: "BWS before extension", in: "5 ;foo\r\nhello\r\n0\r\n\r\n", max: 100, want: "hello", n: -1},
		{name: "trailers", in: "5\r\nhello\r\n0\r\nX-T: 1\r\nY: 2\r\n\r\n", max: 100, want: "hello", n: -1},
		{name: "empty body", in: "0\r\n\r\n", max: 0, want: "", n: -1},
		{name: "leading zeros", in: "0005\r\nhello\r\n0\r\n\r\n", max: 5, want: "hello", n: -1},
		{name: "exactly max", in: "5\r\nhello\r\n0\r\n\r\n", max: 5, want: "hello", n: -1},
		{name: "no limit", in: "5\r\nhello\r\n0\r\n\r\n", max: -1, want: "hello", n: -1},
		{name: "followed by next request", in: "5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n", max: 100, want: "hello", n: 15},
		{name: "too large", in: "5\r\nhello\r\n0\r\n\r\n", max: 4, err: ErrBodyTooLarge},
		{name: "too large before data arrives", in: "ffffff\r\nab", max: 1000, err: ErrBodyTooLarge},
		{name: "too large sum", in: "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n", max: 5, err: ErrBodyTooLarge},
		{name: "incomplete size", in: "5", max: 100, err: ErrIncomplete},
		{name: "incomplete data", in: "5\r\nhel", max: 100, err: ErrIncomplete},
		{name: "incomplete CRLF", in: "5\r\nhello\r", max: 100, err: ErrIncomplete},
		{name: "incomplete last", in: "5\r\nhello\r\n0\r\n", max: 100, err: ErrIncomplete},
		{name: "incomplete trailer", in: "5\r\nhello\r\n0\r\nX: 1\r\n", max: 100, err: ErrIncomplete},
		{name: "empty", in: "", max: 100, err: ErrIncomplete},
		{name: "no size", in: "\r\nhello\r\n0\r\n\r\n", max: 100, err: ErrBadChunk},
		{name: "bad size", in: "5x\r\nhello\r\n0\r\n\r\n", max: 100, err: ErrBadChunk},
		{name: "junk after BWS", in: "5 x\r\nhello\r\n0\r\n\r\n", max: 100, err: ErrBadChunk},
		{name: "trailing BWS", in: "5 \t\r\nhello\r\n0\r\n\r\n", max: 100, want: "hello", n: -1},
		{name: "negative size", in: "-5\r\nhello\r\n0\r\n\r\n", max: 100, err: ErrBadChunk},
		{name: "bare LF after size", in: "5\nhello\r\n0\r\n\r\n", max: 100, err: ErrBadChunk},
		{name: "data too long", in: "5\r\nhello!\r\n0\r\n\r\n", max: 100, err: ErrBadChunk},
		{name: "data bare LF", in: "5\r\nhello\n0\r\n\r\n", max: 100, err: ErrBadChunk},
		{name: "size overflow", in: "fffffffffffffffffffff\r\n", max: -1, err: ErrBadChunk},
		{name: "control in ext", in: "5;a\x00\r\nhello\r\n0\r\n\r\n", max: 100, err: ErrBadChunk},
		{name: "bad trailer", in: "5\r\nhello\r\n0\r\nbad trailer\r\n\r\n", max: 100, err: ErrBadChunk},
		{name: "trailer bare LF", in: "5\r\nhello\r\n0\r\nX: 1\n\r\n", max: 100, err: ErrBadChunk},
		{name: "final bare LF", in: "5\r\nhello\r\n0\r\n\n", max: 100, err: ErrBadChunk},
		{name: "long ext", in: "5;" + strings.Repeat("a", 5000), max: 100, err: ErrBadChunk},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, n, err := DecodeChunked([]byte("pre:"), []byte(tt.in), tt.max)
			if tt.err != nil {
				if tt.err == ErrIncomplete && err != ErrIncomplete {
					t.Fatalf("err = %v, want bare ErrIncomplete", err)
				}
				if !errors.Is(err, tt.err) || n != 0 || string(out) != "pre:" {
					t.Fatalf("got %q, %d, %v; want %v", out, n, err, tt.err)
				}
				return
			}
			want := tt.n
			if want < 0 {
				want = len(tt.in)
			}
			if err != nil || n != want || string(out) != "pre:"+tt.want {
				t.Fatalf("got %q, %d, %v; want %q, %d", out, n, err, tt.want, want)
			}
			for k := 0; k < n; k++ {
				if _, _, err := DecodeChunked(nil, []byte(tt.in[:k]), tt.max); err != ErrIncomplete {
					t.Fatalf("prefix %d: %v", k, err)
				}
			}
		})
	}
}

func TestResponseHelpers(t *testing.T) {
	var b []byte
	b = AppendStatusLine(b, 200)
	b = AppendStatusLine(b, 101)
	b = AppendStatusLine(b, 599)
	b = AppendHeader(b, "Content-Type", "text/plain")
	b = AppendHeaderBytes(b, "Sec-WebSocket-Accept", []byte("x"))
	b = AppendContentLength(b, 0)
	b = AppendContentLength(b, 1234567)
	want := "HTTP/1.1 200 OK\r\nHTTP/1.1 101 Switching Protocols\r\nHTTP/1.1 599 \r\n" +
		"Content-Type: text/plain\r\nSec-WebSocket-Accept: x\r\nContent-Length: 0\r\nContent-Length: 1234567\r\n"
	if string(b) != want {
		t.Errorf("got %q", b)
	}
	for _, code := range []int{100, 101, 200, 204, 400, 403, 404, 405, 413, 426, 431, 500, 501, 503, 505} {
		if StatusText(code) == "" {
			t.Errorf("StatusText(%d) empty", code)
		}
	}
	if StatusText(299) != "" {
		t.Errorf("StatusText(299) = %q", StatusText(299))
	}
}

func TestParseRequestAliasesBuffer(t *testing.T) {
	buf := []byte(simpleGET)
	var req Request
	if _, err := ParseRequest(buf, &req, -1, DefaultMaxHeaders); err != nil {
		t.Fatal(err)
	}
	host := req.Header("Host")
	i := bytes.Index(buf, []byte("localhost"))
	buf[i] = 'L'
	if string(host) != "Localhost:3000" {
		t.Errorf("Header does not alias the buffer: %q", host)
	}
}
