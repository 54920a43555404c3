package engine

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// staticJS is compressible content larger than staticBodyCopyMax, so that
// it takes the uncopied path.
var staticJS = []byte(strings.Repeat("function f(x) { return x * 2; } // fanio\n", 2000))

func staticServer(t *testing.T, opts Options) string {
	t.Helper()
	opts.StaticFiles = append(opts.StaticFiles,
		StaticFile{Name: "app.js", ContentType: "application/javascript; charset=utf-8", ETag: `"1.2.3"`, Data: staticJS},
		StaticFile{Name: "tiny.txt", Data: []byte("hi")},
		StaticFile{Name: "pre.js", Data: staticJS, Precompressed: map[string][]byte{"br": []byte("not really brotli")}},
		StaticFile{Name: "", Data: []byte("ignored")},
		StaticFile{Name: "app.js", Data: []byte("duplicate, ignored")},
	)
	_, base, _ := start(t, opts)
	return base
}

func inflate(t *testing.T, coding string, body []byte) []byte {
	t.Helper()
	var r io.Reader
	var err error
	switch coding {
	case "gzip":
		r, err = gzip.NewReader(bytes.NewReader(body))
	case "deflate":
		r, err = zlib.NewReader(bytes.NewReader(body))
	default:
		return body
	}
	if err != nil {
		t.Fatalf("%s body: %v", coding, err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s body: %v", coding, err)
	}
	return out
}

func TestStaticFileEncodings(t *testing.T) {
	base := staticServer(t, Options{})
	for _, tc := range []struct {
		file, accept, coding string
		want                 []byte
	}{
		{"app.js", "", "", staticJS},
		{"app.js", "identity", "", staticJS},
		{"app.js", "gzip, deflate, br, zstd", "gzip", staticJS},
		{"app.js", "deflate, gzip", "deflate", staticJS},
		{"app.js", "br", "", staticJS}, // no br variant: identity
		{"app.js", "gzip;q=0.5, deflate", "deflate", staticJS},
		{"pre.js", "gzip, br", "gzip", staticJS},
		{"pre.js", "br, gzip", "br", []byte("not really brotli")},
		{"tiny.txt", "gzip", "", []byte("hi")}, // compressing would not make it smaller
	} {
		hdr := map[string]string{}
		if tc.accept != "" {
			hdr["Accept-Encoding"] = tc.accept
		}
		resp, body := do(t, "GET", base+"/engine.io/"+tc.file+"?v=1", "", hdr)
		if resp.StatusCode != 200 {
			t.Fatalf("%s (%q): status %d: %s", tc.file, tc.accept, resp.StatusCode, body)
		}
		if got := resp.Header.Get("Content-Encoding"); got != tc.coding {
			t.Errorf("%s (%q): Content-Encoding %q, want %q", tc.file, tc.accept, got, tc.coding)
		}
		if got := resp.Header.Get("Content-Length"); got != strconv.Itoa(len(body)) {
			t.Errorf("%s (%q): Content-Length %s for %d bytes", tc.file, tc.accept, got, len(body))
		}
		if got := inflate(t, tc.coding, []byte(body)); !bytes.Equal(got, tc.want) {
			t.Errorf("%s (%q): body differs (%d bytes, want %d)", tc.file, tc.accept, len(got), len(tc.want))
		}
		if tc.coding != "" && tc.coding != "br" && len(body) >= len(tc.want)/4 {
			t.Errorf("%s (%q): %d compressed bytes for %d: not compressed", tc.file, tc.accept, len(body), len(tc.want))
		}
		wantVary := tc.file != "tiny.txt"
		if got := resp.Header.Get("Vary"); (got == "Accept-Encoding") != wantVary {
			t.Errorf("%s: Vary %q", tc.file, got)
		}
		if got := resp.Header.Get("Cache-Control"); got != "public, max-age=0" {
			t.Errorf("%s: Cache-Control %q", tc.file, got)
		}
	}
}

func TestStaticFileHeaders(t *testing.T) {
	base := staticServer(t, Options{})
	resp, _ := do(t, "GET", base+"/engine.io/app.js", "", nil)
	if got := resp.Header.Get("Content-Type"); got != "application/javascript; charset=utf-8" {
		t.Errorf("Content-Type %q", got)
	}
	if got := resp.Header.Get("ETag"); got != `"1.2.3"` {
		t.Errorf("ETag %q", got)
	}
	resp, _ = do(t, "GET", base+"/engine.io/tiny.txt", "", nil)
	if got := resp.Header.Get("Content-Type"); got != "text/plain; charset=utf-8" {
		t.Errorf("tiny.txt: Content-Type %q (from the extension)", got)
	}
	etag := resp.Header.Get("ETag")
	if len(etag) < 10 || etag[0] != '"' || etag[len(etag)-1] != '"' {
		t.Errorf("tiny.txt: derived ETag %q is not a quoted tag", etag)
	}
	resp2, _ := do(t, "GET", base+"/engine.io/tiny.txt", "", nil)
	if resp2.Header.Get("ETag") != etag {
		t.Errorf("the derived ETag changed between requests")
	}
}

func TestStaticFileNotModified(t *testing.T) {
	base := staticServer(t, Options{})
	for inm, want := range map[string]int{
		`"1.2.3"`:          304,
		`W/"1.2.3"`:        304,
		`"0.9", "1.2.3"`:   304,
		`*`:                304,
		`"1.2.4"`:          200,
		`1.2.3`:            200,
		`"1.2.3`:           200,
		`W/"1.2.3", "x"  `: 304,
	} {
		resp, body := do(t, "GET", base+"/engine.io/app.js", "", map[string]string{"If-None-Match": inm, "Accept-Encoding": "gzip"})
		if resp.StatusCode != want {
			t.Errorf("If-None-Match %s: status %d, want %d", inm, resp.StatusCode, want)
			continue
		}
		if want == 304 {
			if body != "" {
				t.Errorf("If-None-Match %s: 304 with a body (%d bytes)", inm, len(body))
			}
			if resp.Header.Get("ETag") != `"1.2.3"` || resp.Header.Get("Cache-Control") != "public, max-age=0" {
				t.Errorf("304 without ETag/Cache-Control: %v", resp.Header)
			}
		}
	}
}

// rawExchange sends raw requests on one connection and reads as many
// responses (with their bodies, according to each request's method).
func rawExchange(t *testing.T, base string, methods []string, raw string) []*http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	var out []*http.Response
	for _, m := range methods {
		resp, err := http.ReadResponse(br, &http.Request{Method: m})
		if err != nil {
			t.Fatalf("response %d (%s): %v", len(out)+1, m, err)
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("response %d (%s) body: %v", len(out)+1, m, err)
		}
		resp.Body = io.NopCloser(bytes.NewReader(b))
		out = append(out, resp)
	}
	return out
}

func TestStaticFileHeadAndKeepAlive(t *testing.T) {
	base := staticServer(t, Options{})
	// HEAD, then GET (large: shared body), then GET gzip and a 304, pipelined on
	// one connection: a body after HEAD, or a response that did not end,
	// would corrupt what follows.
	req := "HEAD /engine.io/app.js HTTP/1.1\r\nHost: x\r\n\r\n" +
		"GET /engine.io/app.js HTTP/1.1\r\nHost: x\r\n\r\n" +
		"GET /engine.io/app.js HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n" +
		"GET /engine.io/app.js HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"1.2.3\"\r\n\r\n" +
		"GET /engine.io/tiny.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	rs := rawExchange(t, base, []string{"HEAD", "GET", "GET", "GET", "GET"}, req)
	if rs[0].StatusCode != 200 || rs[0].ContentLength != int64(len(staticJS)) {
		t.Errorf("HEAD: status %d, Content-Length %d, want 200 and %d", rs[0].StatusCode, rs[0].ContentLength, len(staticJS))
	}
	if b, _ := io.ReadAll(rs[1].Body); !bytes.Equal(b, staticJS) {
		t.Errorf("GET after HEAD: %d bytes, want the file (%d)", len(b), len(staticJS))
	}
	if b, _ := io.ReadAll(rs[2].Body); !bytes.Equal(inflate(t, "gzip", b), staticJS) {
		t.Error("pipelined gzip GET: wrong body")
	}
	if rs[3].StatusCode != 304 {
		t.Errorf("pipelined conditional GET: %d", rs[3].StatusCode)
	}
	if b, _ := io.ReadAll(rs[4].Body); string(b) != "hi" || !rs[4].Close {
		t.Errorf("last GET: %q, close %v", b, rs[4].Close)
	}
}

func TestStaticFileMethodsAndFallthrough(t *testing.T) {
	base := staticServer(t, Options{CORS: &CORS{Origins: []string{"https://app.example"}}})
	resp, body := do(t, "POST", base+"/engine.io/app.js", "x", nil)
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD, OPTIONS" {
		t.Errorf("POST: %d Allow %q: %s", resp.StatusCode, resp.Header.Get("Allow"), body)
	}
	resp, _ = do(t, "OPTIONS", base+"/engine.io/app.js", "", map[string]string{
		"Origin": "https://app.example", "Access-Control-Request-Method": "GET"})
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = do(t, "GET", base+"/engine.io/app.js", "", map[string]string{"Origin": "https://app.example"})
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Errorf("GET with Origin: %d %v", resp.StatusCode, resp.Header)
	}
	// Names that are not static files are Engine.IO requests.
	for _, p := range []string{"/engine.io/nope.js", "/engine.io/", "/engine.io/app.js/x", "/engine.io/APP.JS"} {
		resp, body = do(t, "GET", base+p, "", nil)
		if resp.StatusCode != 400 || !strings.Contains(body, "Transport unknown") {
			t.Errorf("GET %s: %d %s, want the engine's 400", p, resp.StatusCode, body)
		}
	}
	// And the engine still works beside them.
	resp, body = do(t, "GET", base+"/engine.io/?EIO=4&transport=polling", "", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(body, `0{"sid"`) {
		t.Errorf("handshake beside static files: %d %s", resp.StatusCode, body)
	}
	// Outside the path: NotFound's business.
	resp, _ = do(t, "GET", base+"/app.js", "", nil)
	if resp.StatusCode != 404 {
		t.Errorf("GET /app.js: %d, want 404", resp.StatusCode)
	}
}

func TestStaticFileOverOutboundCap(t *testing.T) {
	base := staticServer(t, Options{MaxOutboundBytes: 8 << 10})
	resp, _ := do(t, "GET", base+"/engine.io/app.js", "", nil)
	if resp.StatusCode != 503 {
		t.Errorf("a file over MaxOutboundBytes: %d, want 503", resp.StatusCode)
	}
	resp, body := do(t, "GET", base+"/engine.io/app.js", "", map[string]string{"Accept-Encoding": "gzip"})
	if resp.StatusCode != 200 || !bytes.Equal(inflate(t, "gzip", []byte(body)), staticJS) {
		t.Errorf("its gzip variant fits: %d", resp.StatusCode)
	}
}
