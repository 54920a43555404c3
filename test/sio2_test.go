package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// socket.io-client 2.5.0 (Engine.IO v3, Socket.IO protocol v4) against the
// fixture of sio_fixture_test.go with Engine.IO v3 allowed, over Node's
// polling (base64 binary: Node's XMLHttpRequest has no XHR2, so the client
// sends b64=1), WebSocket, and polling upgraded to WebSocket; the browser's
// XHR2 binary payloads and JSONP in sio2_browser_test.go. Every scenario
// runs against the reference too (FANIO_IT_SERVER=reference).

var v2Transports = []string{"polling", "websocket", "upgrade"}

// startSIO2 starts the fixture with room for the 2.x client's heartbeat
// (it pings; a late ping on a loaded machine must not end the test).
func startSIO2(t *testing.T) sioServer {
	t.Helper()
	return startSIOWith(t, sioFixtureOptions{pingTimeout: time.Second})
}

// runSIO2 runs a 2.x scenario with a longer overall deadline than
// runSIO's (its steps wait up to 10 s each on a loaded machine).
func runSIO2(t *testing.T, s sioServer, script string, args ...string) *ScriptResult {
	t.Helper()
	return runSIO(t, s, script, append(args, "--timeout", "45000")...)
}

func wantV2Transport(t *testing.T, res *ScriptResult, variant string) {
	t.Helper()
	want := map[string]string{"polling": "polling", "websocket": "websocket", "upgrade": "websocket"}[variant]
	if got := res.Str("transport"); got != want {
		t.Errorf("transport %q, want %q", got, want)
	}
}

func TestSIO2Events(t *testing.T) {
	for _, tr := range v2Transports {
		t.Run(tr, func(t *testing.T) {
			s := startSIO2(t)
			res := runSIO2(t, s, "sio2/events.mjs", "--transport", tr)
			wantV2Transport(t, res, tr)
			if p := res.Num("protocol"); p != 3 {
				t.Errorf("the client's EIO %v, want 3", p)
			}
			// the client disconnects "/" (DISCONNECT, then the close)
			expectSIODisconnect(t, s, res.Str("sid"), "client namespace disconnect")
		})
	}
}

func TestSIO2Namespaces(t *testing.T) {
	for _, tr := range v2Transports {
		t.Run(tr, func(t *testing.T) {
			s := startSIO2(t)
			res := runSIO2(t, s, "sio2/namespaces.mjs", "--transport", tr)
			wantV2Transport(t, res, tr)
			main, custom := res.Str("main"), res.Str("custom")
			if custom != "/custom#"+main {
				t.Errorf("socket ids %q and %q: want <engine id> and /custom#<engine id>", main, custom)
			}
			expectSIODisconnect(t, s, custom, "client namespace disconnect")
			expectSIODisconnect(t, s, main, "client namespace disconnect")
		})
	}
}

// 2.x and 4.x clients in the same rooms get the same broadcasts.
func TestSIO2MixedRooms(t *testing.T) {
	for _, tr := range v2Transports {
		t.Run(tr, func(t *testing.T) {
			s := startSIO2(t)
			runSIO2(t, s, "sio2/rooms.mjs", "--transport", tr)
		})
	}
}

// Every disconnect reason of a 2.x client, as it and the server see it
// (the client's reasons are the 2.x client's own names).
func TestSIO2DisconnectReasons(t *testing.T) {
	cases := []struct {
		name, server string
		client       []string
		transports   []string
	}{
		{"client-namespace", "client namespace disconnect", []string{"io client disconnect"}, nil},
		{"server-namespace", "server namespace disconnect", []string{"io server disconnect"}, nil},
		{"server-close", "server namespace disconnect", []string{"io server disconnect"}, nil},
		{"transport-close", "transport close", []string{"forced close"}, nil},
		{"ping-timeout", "ping timeout", []string{"ping timeout", "transport close", "transport error"}, nil},
		// On polling the server's close meets a held poll (the close
		// packet: "transport close") or the next one (400: "transport
		// error"), as with the reference.
		{"wrong-heartbeat", "transport error", []string{"transport close", "transport error"}, nil},
		{"forced-close", "forced close", []string{"transport close"}, nil},
		{"forced-server-close", "forced close", []string{"transport close"}, nil},
		{"transport-error", "transport error", []string{"transport close"}, []string{"websocket"}},
		{"parse-error", "parse error", []string{"transport close"}, []string{"websocket"}},
	}
	for _, c := range cases {
		trs := c.transports
		if trs == nil {
			trs = []string{"polling", "websocket"}
		}
		for _, tr := range trs {
			t.Run(c.name+"/"+tr, func(t *testing.T) {
				s := startSIO2(t)
				res := runSIO2(t, s, "sio2/disconnect.mjs", "--case", c.name, "--transport", tr)
				if got := res.Str("clientReason"); !contains(c.client, got) {
					t.Errorf("client reason %q, want one of %q", got, c.client)
				}
				expectSIODisconnect(t, s, res.Str("sid"), c.server)
			})
		}
	}
}

// Without AllowEIO3 (the default of both servers) a 2.x client is refused:
// polling gets the 400 of "Unsupported protocol version".
func TestSIO2RefusedByDefault(t *testing.T) {
	for _, tr := range []string{"polling", "websocket"} {
		t.Run(tr, func(t *testing.T) {
			s := startSIOWith(t, sioFixtureOptions{refuseEIO3: true})
			res := runSIO2(t, s, "sio2/refused.mjs", "--transport", tr)
			if tr == "polling" && res.Num("description") != 400 {
				t.Errorf("connect_error description %v, want 400", res.Result["description"])
			}
			if n := len(s.Log().Opens()); n != 0 {
				t.Errorf("%d sockets connected", n)
			}
		})
	}
}

// socket.io-client 2.5.0's browser bundle in headless Chromium (the page
// and the bundle served by the fixture, same origin): the transports Node's
// client cannot use — XHR2 binary payloads both ways, JSONP — and the
// others.
func TestSIO2Browser(t *testing.T) {
	b := node.BrowserT(t, BrowserOptions{StepTimeout: 40 * time.Second})
	for _, variant := range []string{"polling", "polling-b64", "jsonp", "websocket", "upgrade"} {
		t.Run(variant, func(t *testing.T) {
			s := startSIO2(t)
			p, err := b.NewPage(s.URL() + "/v2/index.html")
			check(t, err)
			defer p.Close()
			var res struct {
				SID            string
				Transport      string
				SupportsBinary bool
				JSONP          bool
				XHR            []struct{ Method, ReqType, RespType string }
			}
			if err := p.Eval(fmt.Sprintf("runScenario(%q)", variant), &res); err != nil {
				t.Fatalf("%v\nbrowser logs:\n%s\nserver:\n%s", err, strings.Join(b.Logs(), "\n"), s.Diagnostics())
			}
			t.Logf("%+v", res)
			binPosts, binAnswers := 0, 0
			for _, x := range res.XHR {
				if x.Method == "POST" && x.ReqType == "application/octet-stream" {
					binPosts++
				}
				if strings.HasPrefix(x.RespType, "application/octet-stream") {
					binAnswers++
				}
			}
			switch variant {
			case "polling":
				if res.Transport != "polling" || !res.SupportsBinary || binPosts == 0 || binAnswers == 0 {
					t.Errorf("XHR2 polling: want binary POSTs and answers, got %d and %d (%+v)", binPosts, binAnswers, res)
				}
			case "polling-b64":
				if res.Transport != "polling" || res.SupportsBinary || binPosts+binAnswers != 0 {
					t.Errorf("base64 polling: %d binary POSTs, %d binary answers (%+v)", binPosts, binAnswers, res)
				}
			case "jsonp":
				if res.Transport != "polling" || !res.JSONP || len(res.XHR) != 0 {
					t.Errorf("JSONP: %+v", res)
				}
			default:
				if res.Transport != "websocket" {
					t.Errorf("transport %q", res.Transport)
				}
			}
			expectSIODisconnect(t, s, res.SID, "client namespace disconnect")
		})
	}
}
