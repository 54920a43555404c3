package integration

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/fanio/fanio/engine"
)

type deflateEcho struct {
	mu      sync.Mutex
	deflate map[string]bool
}

func (h *deflateEcho) OnMessage(s *engine.Session, data []byte, binary bool) {
	h.mu.Lock()
	h.deflate[s.ID()] = s.PerMessageDeflate()
	h.mu.Unlock()
	_ = s.Send(data, binary)
}
func (h *deflateEcho) OnClose(*engine.Session, engine.DisconnectReason) {}

// With permessage-deflate enabled, the official client (ws under Node offers
// the extension by default) negotiates it, and ~900 KB text and binary
// messages travel compressed both ways and come back intact.
func TestEIOPerMessageDeflate(t *testing.T) {
	h := &deflateEcho{deflate: map[string]bool{}}
	srv := engine.NewServer(engine.Options{
		Path: enginePath, PingInterval: pingInterval, PingTimeout: pingTimeout, MaxPayload: maxPayload,
		PerMessageDeflate: true,
	})
	srv.OnConnection(func(s *engine.Session) { s.SetHandler(h) })
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()
	res := node.RunScript(context.Background(), 60*time.Second, "eio/large.mjs",
		"--url", "http://"+srv.Addr().String(), "--path", enginePath, "--timeout", "20000", "--transport", "websocket")
	if !res.OK() {
		t.Fatalf("scenario failed:\n%s", res)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if on, seen := h.deflate[res.Str("sid")]; !seen || !on {
		t.Fatalf("session %s: permessage-deflate negotiated = %v (seen %v), want true", res.Str("sid"), on, seen)
	}
}
