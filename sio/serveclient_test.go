package sio

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

const testBanner = "/*!\n * Socket.IO v4.8.4-rc.1\n * (c) 2014-2026 Guillermo Rauch\n * Released under the MIT License.\n */\n"

func TestBundleVersion(t *testing.T) {
	for in, want := range map[string]string{
		testBanner:                            "4.8.4-rc.1",
		"/*! Socket.IO v5.0.0 */ code":        "5.0.0",
		"no banner here":                      "",
		"Socket.IO v":                         "",
		strings.Repeat(" ", 600) + testBanner: "", // only the head is searched
	} {
		if got := bundleVersion([]byte(in)); got != want {
			t.Errorf("bundleVersion(%.30q) = %q, want %q", in, got, want)
		}
	}
}

func TestServeClientFiles(t *testing.T) {
	js := []byte(testBanner + strings.Repeat("console.log('fanio');\n", 100))
	fsys := fstest.MapFS{
		"socket.io.js":        {Data: js},
		"socket.io.js.map":    {Data: []byte(`{"version":3}`)},
		"socket.io.min.js":    {Data: js},
		"socket.io.min.js.br": {Data: []byte("brotli bytes")},
		"other.js":            {Data: js},
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	files := clientFiles(fsys, log)
	if len(files) != 3 {
		t.Fatalf("%d files, want the 3 client files present", len(files))
	}
	byName := map[string]int{}
	for i, f := range files {
		byName[f.Name] = i
		if f.ETag != `"4.8.4-rc.1"` {
			t.Errorf("%s: ETag %q", f.Name, f.ETag)
		}
	}
	if f := files[byName["socket.io.js.map"]]; f.ContentType != "application/json; charset=utf-8" {
		t.Errorf("map: Content-Type %q", f.ContentType)
	}
	if f := files[byName["socket.io.js"]]; f.ContentType != "application/javascript; charset=utf-8" || !bytes.Equal(f.Data, js) {
		t.Errorf("js: Content-Type %q, %d bytes", f.ContentType, len(f.Data))
	}
	if f := files[byName["socket.io.min.js"]]; string(f.Precompressed["br"]) != "brotli bytes" {
		t.Errorf("socket.io.min.js.br was not taken as the br variant: %v", f.Precompressed)
	}

	// Without a banner, each file gets an ETag of its own from the engine.
	files = clientFiles(fstest.MapFS{"socket.io.js": {Data: []byte("custom build")}}, log)
	if len(files) != 1 || files[0].ETag != "" {
		t.Errorf("custom build: %+v", files)
	}
	if files = clientFiles(fstest.MapFS{}, log); files != nil {
		t.Errorf("empty FS: %d files", len(files))
	}
}

// End to end through the server: the bundle is answered under the path,
// compressed, and the sockets still connect.
func TestServeClientServer(t *testing.T) {
	js := []byte(testBanner + strings.Repeat("console.log('fanio');\n", 100))
	srv := startServer(t, Options{ServeClient: fstest.MapFS{"socket.io.js": {Data: js}}})
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + srv.Addr().String() + "/socket.io/socket.io.js")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(body, js) || !resp.Uncompressed {
		t.Errorf("GET socket.io.js: %d, %d bytes, transparently gunzipped %v", resp.StatusCode, len(body), resp.Uncompressed)
	}
	if resp.Header.Get("ETag") != `"4.8.4-rc.1"` {
		t.Errorf("ETag %q", resp.Header.Get("ETag"))
	}
	resp, err = c.Get("http://" + srv.Addr().String() + "/socket.io/socket.io.min.js")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("a file the FS lacks: %d, want the engine's 400", resp.StatusCode)
	}
	if sid := dialWS(t, srv).Connect("/", ""); sid == "" {
		t.Error("no socket id")
	}
}
