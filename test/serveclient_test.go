package integration

// sio.Options.ServeClient with the real socket.io-client bundle from
// test/node, side by side with the npm socket.io reference server (whose
// serveClient is on by default and bundles the same files): same bytes,
// same headers, same ETag and 304, the same choice of compression.

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fanio/fanio/sio"
)

var clientBundleFiles = []string{
	"socket.io.js", "socket.io.js.map",
	"socket.io.min.js", "socket.io.min.js.map",
	"socket.io.esm.min.js", "socket.io.esm.min.js.map",
	"socket.io.msgpack.min.js", "socket.io.msgpack.min.js.map",
}

// clientDist is test/node's socket.io-client dist directory and the
// client's version.
func clientDist(t *testing.T) (dir, version string) {
	t.Helper()
	root := filepath.Join(node.Dir, "node_modules", "socket.io-client")
	raw, err := os.ReadFile(filepath.Join(root, "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct{ Version string }
	if err := json.Unmarshal(raw, &pkg); err != nil || pkg.Version == "" {
		t.Fatalf("socket.io-client/package.json: %v", err)
	}
	return filepath.Join(root, "dist"), pkg.Version
}

func startServeClient(t *testing.T, dir string) string {
	t.Helper()
	srv := sio.NewServer(sio.Options{
		Path:        sioPath,
		CORS:        &sio.CORS{Origins: []string{"*"}},
		ServeClient: os.DirFS(dir),
	})
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return "http://" + srv.Addr().String()
}

// noDecompress is a client that shows Content-Encoding as sent.
var noDecompress = &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableCompression: true}}

type fetched struct {
	status int
	header http.Header
	body   []byte // decoded
}

func fetch(t *testing.T, method, url string, hdr map[string]string) fetched {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := noDecompress.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	var r io.Reader = bytes.NewReader(raw)
	switch resp.Header.Get("Content-Encoding") {
	case "gzip":
		r, err = gzip.NewReader(r)
	case "deflate":
		r, err = zlib.NewReader(r)
	}
	if err != nil {
		t.Fatalf("%s %s: %s body: %v", method, url, resp.Header.Get("Content-Encoding"), err)
	}
	body, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s %s: decoding: %v", method, url, err)
	}
	if enc := resp.Header.Get("Content-Encoding"); enc != "" && enc != "br" && len(raw) >= len(body) {
		t.Errorf("%s %s: %s body of %d bytes for %d", method, url, enc, len(raw), len(body))
	}
	return fetched{resp.StatusCode, resp.Header, body}
}

func TestServeClientBundle(t *testing.T) {
	dir, version := clientDist(t)
	fanio := startServeClient(t, dir)
	ref, err := startSIOReference(sioFixtureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Shutdown()
	refURL := ref.URL()
	etag := `"` + version + `"`

	for _, name := range clientBundleFiles {
		want, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, accept := range []string{"", "gzip, deflate, br, zstd", "deflate, gzip", "identity", "gzip;q=0.2, deflate;q=0.5"} {
			hdr := map[string]string{"Accept-Encoding": accept}
			got := fetch(t, "GET", fanio+sioPath+name, hdr)
			exp := fetch(t, "GET", refURL+sioPath+name, hdr)
			if got.status != 200 || exp.status != 200 {
				t.Fatalf("GET %s (%q): status %d, reference %d", name, accept, got.status, exp.status)
			}
			if !bytes.Equal(got.body, want) {
				t.Errorf("GET %s (%q): %d bytes differ from the file's %d", name, accept, len(got.body), len(want))
			}
			if !bytes.Equal(exp.body, want) {
				t.Errorf("reference GET %s: not the same file (the test's premise)", name)
			}
			for _, h := range []string{"Content-Type", "Cache-Control", "ETag", "Content-Encoding", "Access-Control-Allow-Origin"} {
				if g, e := got.header.Get(h), exp.header.Get(h); g != e {
					t.Errorf("GET %s (%q): %s %q, reference %q", name, accept, h, g, e)
				}
			}
			if got.header.Get("ETag") != etag {
				t.Errorf("GET %s: ETag %q, want the client version %s", name, got.header.Get("ETag"), etag)
			}
		}
		// Conditional requests, strong and weak: 304 without a body.
		for _, inm := range []string{etag, "W/" + etag} {
			got := fetch(t, "GET", fanio+sioPath+name, map[string]string{"If-None-Match": inm, "Accept-Encoding": "gzip"})
			exp := fetch(t, "GET", refURL+sioPath+name, map[string]string{"If-None-Match": inm, "Accept-Encoding": "gzip"})
			if got.status != 304 || exp.status != 304 || len(got.body) != 0 {
				t.Errorf("GET %s If-None-Match %s: %d (%d bytes), reference %d", name, inm, got.status, len(got.body), exp.status)
			}
		}
		if got := fetch(t, "GET", fanio+sioPath+name, map[string]string{"If-None-Match": `"0.0.1"`}); got.status != 200 {
			t.Errorf("GET %s with a stale ETag: %d", name, got.status)
		}
	}

	// Brotli: the reference compresses on the fly; fanio has no brotli
	// encoder and takes the client's next choice.
	got := fetch(t, "GET", fanio+sioPath+"socket.io.min.js", map[string]string{"Accept-Encoding": "br;q=1, gzip;q=0.5"})
	if enc := got.header.Get("Content-Encoding"); enc != "gzip" {
		t.Errorf("br preferred, gzip accepted: Content-Encoding %q, want gzip", enc)
	}
	// The query string is ignored, as by the reference (cache busting).
	if got := fetch(t, "GET", fanio+sioPath+"socket.io.js?v="+version, nil); got.status != 200 {
		t.Errorf("GET socket.io.js?v=: %d", got.status)
	}
	// Other names under the path are Engine.IO requests, as in the reference.
	for _, name := range []string{"socket.io.slim.js", "index.js"} {
		got, exp := fetch(t, "GET", fanio+sioPath+name, nil), fetch(t, "GET", refURL+sioPath+name, nil)
		if got.status != 400 || exp.status != 400 {
			t.Errorf("GET %s: %d, reference %d (both should be the engine's 400)", name, got.status, exp.status)
		}
	}
	// And Socket.IO itself still works beside the bundle.
	got = fetch(t, "GET", fanio+sioPath+"?EIO=4&transport=polling", nil)
	if got.status != 200 || !bytes.HasPrefix(got.body, []byte(`0{"sid"`)) {
		t.Errorf("handshake: %d %s", got.status, got.body)
	}
}

// Without ServeClient the bundle is not served (the engine's 400), and a
// directory without the files leaves the server working.
func TestServeClientAbsent(t *testing.T) {
	for _, base := range []string{startServeClient(t, t.TempDir()), startServeClientNil(t)} {
		if got := fetch(t, "GET", base+sioPath+"socket.io.js", nil); got.status != 400 {
			t.Errorf("GET socket.io.js: %d, want 400", got.status)
		}
	}
}

func startServeClientNil(t *testing.T) string {
	t.Helper()
	srv := sio.NewServer(sio.Options{Path: sioPath})
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return "http://" + srv.Addr().String()
}
