package integration

import (
	"context"
	"testing"
	"time"
)

// One test per Socket.IO scenario (node/sio/*.mjs, driven by the official
// socket.io-client) against the fixture of sio_fixture_test.go. The
// scenarios of the parser's concern run with both parsers: the JSON one
// and socket.io-msgpack-parser (the client and the fixture configured
// with it, against the reference too).

var parsers = []string{"json", "msgpack"}

// eachParserTransport runs fn as a subtest per parser and transport.
func eachParserTransport(t *testing.T, fn func(t *testing.T, parser, transport string)) {
	for _, parser := range parsers {
		for _, transport := range []string{"polling", "websocket"} {
			t.Run(parser+"/"+transport, func(t *testing.T) { fn(t, parser, transport) })
		}
	}
}

func TestSIONamespaces(t *testing.T) {
	eachParserTransport(t, func(t *testing.T, parser, transport string) {
		s := startSIOWith(t, sioFixtureOptions{parser: parser})
		res := runSIO(t, s, "sio/namespaces.mjs", "--transport", transport)
		expectSIODisconnect(t, s, res.Str("custom"), "client namespace disconnect")
		expectSIODisconnect(t, s, res.Str("main"), "client namespace disconnect")
	})
}

func TestSIOEvents(t *testing.T) {
	eachParserTransport(t, func(t *testing.T, parser, transport string) {
		s := startSIOWith(t, sioFixtureOptions{parser: parser})
		res := runSIO(t, s, "sio/events.mjs", "--transport", transport)
		expectSIODisconnect(t, s, res.Str("sid"), "client namespace disconnect")
	})
}

// The handshake as socket.handshake shows it (headers, query, auth,
// address, xdomain, secure, url, issued), the same for fanio's
// HandshakeView as for the reference.
func TestSIOHandshake(t *testing.T) {
	for _, transport := range []string{"polling", "websocket"} {
		t.Run(transport, func(t *testing.T) {
			s := startSIO(t, false)
			res := runSIO(t, s, "sio/handshake.mjs", "--transport", transport)
			expectSIODisconnect(t, s, res.Str("sid"), "client namespace disconnect")
		})
	}
}

func TestSIOAcks(t *testing.T) {
	eachParserTransport(t, func(t *testing.T, parser, transport string) {
		s := startSIOWith(t, sioFixtureOptions{parser: parser})
		runSIO(t, s, "sio/acks.mjs", "--transport", transport)
	})
}

func TestSIORooms(t *testing.T) {
	for _, parser := range parsers {
		t.Run(parser, func(t *testing.T) {
			s := startSIOWith(t, sioFixtureOptions{parser: parser})
			runSIO(t, s, "sio/rooms.mjs", "--transport", "websocket")
		})
	}
	// broadcasts to polling clients, in binary frames: base64 in the
	// polling payloads
	t.Run("msgpack/polling", func(t *testing.T) {
		s := startSIOWith(t, sioFixtureOptions{parser: "msgpack"})
		runSIO(t, s, "sio/rooms.mjs", "--transport", "polling")
	})
}

// What the msgpack parser puts on the wire, as the client sees it: every
// Socket.IO packet is one binary Engine.IO message both ways (no text
// message, no attachment), binary values inline.
func TestSIOMsgpackWire(t *testing.T) {
	for _, transport := range []string{"polling", "websocket"} {
		t.Run(transport, func(t *testing.T) {
			s := startSIOWith(t, sioFixtureOptions{parser: "msgpack"})
			res := runSIO(t, s, "sio/msgpack-wire.mjs", "--transport", transport)
			expectSIODisconnect(t, s, res.Str("sid"), "client namespace disconnect")
		})
	}
}

// Every disconnect reason, as the client and as the server see it.
func TestSIODisconnectReasons(t *testing.T) {
	cases := []struct {
		name, transport, server string
		client                  []string // acceptable client reasons
	}{
		{"client-namespace", "websocket", "client namespace disconnect", []string{"io client disconnect"}},
		{"client-namespace", "polling", "client namespace disconnect", []string{"io client disconnect"}},
		{"server-namespace", "websocket", "server namespace disconnect", []string{"io server disconnect"}},
		{"server-namespace", "polling", "server namespace disconnect", []string{"io server disconnect"}},
		{"server-close", "websocket", "server namespace disconnect", []string{"io server disconnect"}},
		{"server-close", "polling", "server namespace disconnect", []string{"io server disconnect"}},
		{"transport-close", "websocket", "transport close", []string{"forced close"}},
		{"transport-close", "polling", "transport close", []string{"forced close"}},
		{"ping-timeout", "websocket", "ping timeout", []string{"ping timeout", "transport close"}},
		{"ping-timeout", "polling", "ping timeout", []string{"ping timeout", "transport close", "transport error"}},
		{"transport-error", "websocket", "transport error", []string{"transport close"}},
		{"parse-error", "websocket", "parse error", []string{"transport close"}},
		{"forced-close", "websocket", "forced close", []string{"transport close"}},
		{"forced-close", "polling", "forced close", []string{"transport close", "transport error"}},
		{"forced-server-close", "websocket", "forced close", []string{"transport close"}},
		{"forced-server-close", "polling", "forced close", []string{"transport close", "transport error"}},
	}
	for _, c := range cases {
		t.Run(c.name+"/"+c.transport, func(t *testing.T) {
			s := startSIO(t, false)
			res := runSIO(t, s, "sio/disconnect.mjs", "--case", c.name, "--transport", c.transport)
			if got := res.Str("clientReason"); !contains(c.client, got) {
				t.Errorf("client reason %q, want one of %q", got, c.client)
			}
			expectSIODisconnect(t, s, res.Str("sid"), c.server)
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Server shutdown: sockets get "server shutting down", clients see the
// connection close.
func TestSIOServerShutdown(t *testing.T) {
	for _, transport := range []string{"polling", "websocket"} {
		t.Run(transport, func(t *testing.T) {
			s := startSIO(t, false)
			sc, err := node.StartScript(context.Background(), 60*time.Second, "sio/disconnect.mjs",
				"--url", s.URL(), "--path", sioPath, "--timeout", "20000", "--case", "server-shutdown", "--transport", transport)
			if err != nil {
				t.Fatal(err)
			}
			sc.CloseStdin()
			deadline := time.Now().Add(10 * time.Second)
			for len(s.Log().Opens()) == 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			opens := s.Log().Opens()
			if len(opens) != 1 {
				t.Fatalf("sockets seen: %v", opens)
			}
			s.Shutdown()
			res := sc.Wait()
			if !res.OK() {
				t.Fatalf("scenario failed:\n%s", res)
			}
			if got := res.Str("clientReason"); !contains([]string{"transport close", "transport error"}, got) {
				t.Errorf("client reason %q, want the connection closed", got)
			}
			expectSIODisconnect(t, s, opens[0], "server shutting down")
		})
	}
}

// A connection that joins no namespace is closed after connectTimeout.
func TestSIOConnectTimeout(t *testing.T) {
	for _, transport := range []string{"polling", "websocket"} {
		t.Run(transport, func(t *testing.T) {
			s := startSIO(t, false)
			res := runSIO(t, s, "sio/disconnect.mjs", "--case", "connect-timeout", "--transport", transport)
			if got := res.Str("clientReason"); got != "transport close" {
				t.Errorf("client reason %q, want \"transport close\"", got)
			}
			if n := len(s.Log().Opens()); n != 0 {
				t.Errorf("%d sockets connected, want none", n)
			}
		})
	}
}

// Broadcasts to a polling-only client and to one upgrading mid-stream: no
// loss, no reordering.
func TestSIOStreamPollingAndUpgrade(t *testing.T) {
	for _, parser := range parsers {
		t.Run(parser, func(t *testing.T) {
			s := startSIOWith(t, sioFixtureOptions{parser: parser})
			runSIO(t, s, "sio/stream.mjs", "--count", "400", "--interval", "2")
		})
	}
}

// Connection state recovery: missed broadcasts are replayed, the id and
// rooms are kept.
func TestSIORecovery(t *testing.T) {
	eachParserTransport(t, func(t *testing.T, parser, transport string) {
		s := startSIOWith(t, sioFixtureOptions{recovery: true, parser: parser})
		res := runSIO(t, s, "sio/recovery.mjs", "--transport", transport)
		sid := res.Str("sid")
		// the client dropped its connection: "transport close" here;
		// the reference says "transport error" on WebSocket when the
		// client's close handshake is cut short
		expectSIODisconnectOneOf(t, s, sid, "transport close", "transport error")
		expectSIODisconnect(t, s, sid+"/recovered", "client namespace disconnect")
	})
}

func expectSIODisconnectOneOf(t *testing.T, s sioServer, id string, want ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rec, err := s.Log().WaitClosed(ctx, id)
	if err != nil {
		t.Fatalf("server side: %v", err)
	}
	if !contains(want, rec.Reason) {
		t.Errorf("server disconnect reason of %s = %q, want one of %q", id, rec.Reason, want)
	}
}
