package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/fanio/fanio/sio"
)

func testHub(t *testing.T, o hubOptions) *hub {
	t.Helper()
	h := newHub(sio.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, http.NewServeMux(), o, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(func() { _ = h.srv.Shutdown(context.Background()) })
	return h
}

func call(h *hub, method, remote, ctype, origin, auth, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "/api/publish", strings.NewReader(body))
	r.RemoteAddr = remote
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	if origin != "" {
		r.Header.Set("Origin", origin)
	}
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	w := httptest.NewRecorder()
	h.publishHTTP(w, r)
	return w
}

const okBody = `{"room":"r","event":"e","data":1}`

// The publish API's defaults: without a token, loopback only; JSON only
// (a cross-origin text/plain POST, which browsers send without a
// preflight, never publishes); browser origins only when listed, for the
// preflight and the request.
func TestPublishSafeDefaults(t *testing.T) {
	h := testHub(t, hubOptions{})
	for _, tc := range []struct {
		name                                 string
		method, remote, ctype, origin, token string
		status                               int
	}{
		{"loopback JSON", "POST", "127.0.0.1:5000", "application/json", "", "", 200},
		{"loopback v6 JSON with charset", "POST", "[::1]:5000", "application/json; charset=utf-8", "", "", 200},
		{"remote without token", "POST", "192.0.2.7:5000", "application/json", "", "", 403},
		{"text/plain from a page", "POST", "127.0.0.1:5000", "text/plain", "https://evil.example", "", 403},
		{"text/plain without origin", "POST", "127.0.0.1:5000", "text/plain", "", "", 415},
		{"form", "POST", "127.0.0.1:5000", "application/x-www-form-urlencoded", "", "", 415},
		{"JSON from a page", "POST", "127.0.0.1:5000", "application/json", "https://evil.example", "", 403},
		{"GET", "GET", "127.0.0.1:5000", "", "", "", 405},
	} {
		w := call(h, tc.method, tc.remote, tc.ctype, tc.origin, tc.token, okBody)
		if w.Code != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, w.Code, w.Body, tc.status)
		}
	}
	// The preflight of a page's JSON POST is refused: the browser never
	// sends the request.
	w := call(h, "OPTIONS", "127.0.0.1:5000", "", "https://evil.example", "", "")
	if w.Code != 403 || w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight from an unlisted origin: %d %v", w.Code, w.Header())
	}

	// With a token and a listed origin: remote addresses and that page may
	// publish with the token.
	h = testHub(t, hubOptions{token: "s3cret", apiOrigins: []string{"https://app.example"}})
	if w := call(h, "POST", "192.0.2.7:5000", "application/json", "", "Bearer s3cret", okBody); w.Code != 200 {
		t.Fatalf("remote with the token: %d %s", w.Code, w.Body)
	}
	if w := call(h, "POST", "127.0.0.1:5000", "application/json", "", "", okBody); w.Code != 401 {
		t.Fatalf("loopback without the token: %d", w.Code)
	}
	w = call(h, "OPTIONS", "192.0.2.7:5000", "", "https://app.example", "", "")
	if w.Code != 204 || w.Header().Get("Access-Control-Allow-Origin") != "https://app.example" ||
		!strings.Contains(w.Header().Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight from a listed origin: %d %v", w.Code, w.Header())
	}
	w = call(h, "POST", "192.0.2.7:5000", "application/json", "https://app.example", "Bearer s3cret", okBody)
	if w.Code != 200 || w.Header().Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Fatalf("listed origin with the token: %d %v", w.Code, w.Header())
	}
	if w := call(h, "POST", "192.0.2.7:5000", "application/json", "https://other.example", "Bearer s3cret", okBody); w.Code != 403 {
		t.Fatalf("unlisted origin with the token: %d", w.Code)
	}
}

// /readyz follows the server's life: not ready before listening, ready,
// not ready while draining.
func TestReadiness(t *testing.T) {
	h := testHub(t, hubOptions{})
	hl := &health{srv: h.srv}
	get := func(path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		mux := http.NewServeMux()
		hl.register(mux)
		mux.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		return w
	}
	if w := get("/readyz"); w.Code != 503 || !strings.Contains(w.Body.String(), `"listening":false`) {
		t.Fatalf("before listening: %d %s", w.Code, w.Body)
	}
	hl.listening.Store(true)
	if w := get("/readyz"); w.Code != 200 || !strings.Contains(w.Body.String(), `"adapter":"local"`) {
		t.Fatalf("listening: %d %s", w.Code, w.Body)
	}
	hl.draining.Store(true)
	if w := get("/readyz"); w.Code != 503 || !strings.Contains(w.Body.String(), `"draining":true`) {
		t.Fatalf("draining: %d %s", w.Code, w.Body)
	}
	if w := get("/healthz"); w.Code != 200 {
		t.Fatalf("healthz while draining: %d", w.Code)
	}
}
