package integration

import (
	"testing"

	"github.com/fanio/fanio/engine"
)

// One test per Engine.IO scenario (node/eio/*.mjs, driven by the official
// engine.io-client). Each starts its own server; at cleanup startServer
// checks that every session closed and the session count is back to 0.

func TestEIOPollingOnly(t *testing.T) { testBasic(t, engine.TransportPolling) }

func TestEIOWebSocketOnly(t *testing.T) { testBasic(t, engine.TransportWebSocket) }

// open, text and binary both ways, close from the client
func testBasic(t *testing.T, transport string) {
	s := startServer(t)
	res := runScenario(t, s, "eio/basic.mjs", "--transport", transport)
	if got := res.Str("transport"); got != transport {
		t.Errorf("client transport = %q, want %q", got, transport)
	}
	expectServerClose(t, s, res.Str("sid"), engine.ReasonTransportClose, transport)
	expectOnlySession(t, s, res.Str("sid"))
}

// polling → websocket upgrade while both sides stream numbered messages
func TestEIOUpgradeUnderStream(t *testing.T) {
	s := startServer(t)
	res := runScenario(t, s, "eio/upgrade.mjs", "--messages", "400", "--after-upgrade", "100",
		"--stream-count", "600", "--stream-interval", "2")
	if res.Num("sent") < 400 || res.Num("echoes") != res.Num("sent") || res.Num("srv") != 600 {
		t.Errorf("sent %v, echoes %v, srv %v: want >= 400, = sent, 600", res.Num("sent"), res.Num("echoes"), res.Num("srv"))
	}
	sid := res.Str("sid")
	expectServerClose(t, s, sid, engine.ReasonTransportClose, engine.TransportWebSocket)
	expectOnlySession(t, s, sid)
}

// ~900 KB text and binary messages echoed intact
func TestEIOLargeMessage(t *testing.T) {
	for _, transport := range []string{engine.TransportPolling, engine.TransportWebSocket} {
		t.Run(transport, func(t *testing.T) {
			s := startServer(t)
			res := runScenario(t, s, "eio/large.mjs", "--transport", transport)
			if res.Num("textBytes") != 900_000 {
				t.Errorf("text message was %v bytes, want 900000", res.Num("textBytes"))
			}
			expectServerClose(t, s, res.Str("sid"), engine.ReasonTransportClose, transport)
			expectOnlySession(t, s, res.Str("sid"))
		})
	}
}

// a 1.1 MB message (over MaxPayload) ends the session. The client asserts a
// 413 on polling and WebSocket close code 1009. On websocket the frame is a
// transport error for both servers. On polling the reference's 413 does not
// end the session by itself (the client then sends a close packet:
// "transport close"); fanio ends the session with the 413 ("transport
// error"), so a client that ignores the 413 cannot keep it.
func TestEIOOversizeMessage(t *testing.T) {
	for _, transport := range []string{engine.TransportPolling, engine.TransportWebSocket} {
		for _, kind := range []string{"text", "binary"} {
			t.Run(transport+"/"+kind, func(t *testing.T) {
				s := startServer(t)
				want := map[string]engine.DisconnectReason{
					engine.TransportPolling:   engine.ReasonTransportError,
					engine.TransportWebSocket: engine.ReasonTransportError,
				}
				if s.Kind() == backendReference {
					want[engine.TransportPolling] = engine.ReasonTransportClose
				}
				res := runScenario(t, s, "eio/oversize.mjs", "--transport", transport, "--kind", kind, "--bytes", "1100000")
				expectServerClose(t, s, res.Str("sid"), want[transport], transport)
				expectOnlySession(t, s, res.Str("sid"))
			})
		}
	}
}

// the client drops its pongs: the server closes with "ping timeout"
func TestEIOHeartbeatTimeout(t *testing.T) {
	for _, transport := range []string{engine.TransportPolling, engine.TransportWebSocket} {
		t.Run(transport, func(t *testing.T) {
			s := startServer(t)
			res := runScenario(t, s, "eio/heartbeat.mjs", "--transport", transport, "--keepalive-ms", "50")
			if res.Num("pings") < 1 || res.Num("pongsDropped") != res.Num("pings") {
				t.Errorf("pings %v, pongs dropped %v", res.Num("pings"), res.Num("pongsDropped"))
			}
			expectServerClose(t, s, res.Str("sid"), engine.ReasonPingTimeout, transport)
			expectOnlySession(t, s, res.Str("sid"))
		})
	}
}

// "close-me": the server closes the session with "forced close"
func TestEIOServerClose(t *testing.T) {
	for _, mode := range []string{engine.TransportPolling, engine.TransportWebSocket, "upgrade"} {
		t.Run(mode, func(t *testing.T) {
			s := startServer(t)
			res := runScenario(t, s, "eio/server-close.mjs", "--transport", mode)
			transport := mode
			if mode == "upgrade" {
				transport = engine.TransportWebSocket
			}
			// (the script checks the client's close reason: "transport close",
			// or on polling a 400 for a request that raced the close)
			if got := res.Str("closeReason"); transport == engine.TransportWebSocket && got != "transport close" {
				t.Errorf("client close reason = %q, want %q", got, "transport close")
			}
			t.Logf("client close: %q (%q)", res.Str("closeReason"), res.Str("closeDescription"))
			expectServerClose(t, s, res.Str("sid"), engine.ReasonForcedClose, transport)
			expectOnlySession(t, s, res.Str("sid"))
		})
	}
}

// socket.close() on the client: the server reports "transport close"
func TestEIOClientClose(t *testing.T) {
	for _, mode := range []string{engine.TransportPolling, engine.TransportWebSocket, "upgrade"} {
		t.Run(mode, func(t *testing.T) {
			s := startServer(t)
			res := runScenario(t, s, "eio/client-close.mjs", "--transport", mode)
			transport := mode
			if mode == "upgrade" {
				transport = engine.TransportWebSocket
			}
			expectServerClose(t, s, res.Str("sid"), engine.ReasonTransportClose, transport)
			expectOnlySession(t, s, res.Str("sid"))
		})
	}
}
