package integration

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/fanio/fanio/engine"
	"github.com/fanio/fanio/internal/siotest"
	"github.com/fanio/fanio/sio"
)

// These tests hold fanio's Node-API hooks to the reference's behaviour by
// running the same steps through the npm packages and comparing.

// The adapter's room events, step by step, equal socket.io-adapter's
// (node/hooks/adapter-events.mjs): the same joins and leaves, on sockets
// of a real server.
func TestAdapterEventsMatchReference(t *testing.T) {
	ref := runNode(t, nil, "hooks/adapter-events.mjs")
	var want [][]string
	raw, _ := json.Marshal(ref.Result["steps"])
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}

	srv := sio.NewServer(sio.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	var mu sync.Mutex
	var events []string
	names := map[string]string{}
	record := func(s string) { mu.Lock(); events = append(events, s); mu.Unlock() }
	a := srv.Sockets().Adapter().(sio.RoomEventSource)
	a.OnCreateRoom(func(r sio.Room) { record("create-room " + r) })
	a.OnDeleteRoom(func(r sio.Room) { record("delete-room " + r) })
	a.OnJoinRoom(func(r sio.Room, id sio.SocketID) { record("join-room " + r + " " + id) })
	a.OnLeaveRoom(func(r sio.Room, id sio.SocketID) { record("leave-room " + r + " " + id) })
	srv.OnConnection(func(s *sio.Socket) {
		s.On("join", func(s *sio.Socket, args sio.Args, ack sio.Ack) {
			for _, v := range args {
				r, _ := sio.Arg[string](sio.Args{v}, 0)
				s.Join(r)
			}
			_ = ack()
		})
		s.On("leave", func(s *sio.Socket, args sio.Args, ack sio.Ack) {
			r, _ := sio.Arg[string](args, 0)
			s.Leave(r)
			_ = ack()
		})
	})
	take := func(n int) []string {
		deadline := time.Now().Add(10 * time.Second)
		for {
			mu.Lock()
			got := len(events)
			mu.Unlock()
			if got >= n || time.Now().After(deadline) {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		mu.Lock()
		out := events
		events = nil
		mu.Unlock()
		for i := range out {
			for id, n := range names {
				out[i] = strings.ReplaceAll(out[i], id, n)
			}
		}
		return out
	}
	c1, c2 := siotest.Dial(t, srv.Addr().String()), siotest.Dial(t, srv.Addr().String())
	var got [][]string
	sid1 := c1.Connect("/", "")
	mu.Lock()
	names[sid1] = "s1"
	mu.Unlock()
	sid2 := c2.Connect("/", "")
	mu.Lock()
	names[sid2] = "s2"
	mu.Unlock()
	got = append(got, take(4))
	call := func(c *siotest.Client, pkt string) { c.Send(pkt); c.ExpectPrefix("3") }
	call(c1, `21["join","r","q"]`)
	got = append(got, take(len(want[1])))
	call(c2, `21["join","r"]`)
	got = append(got, take(len(want[2])))
	call(c1, `21["join","r"]`)
	got = append(got, take(0))
	call(c1, `21["leave","r"]`)
	got = append(got, take(len(want[4])))
	call(c1, `21["leave","nope"]`)
	got = append(got, take(0))
	call(c2, `21["leave","r"]`)
	got = append(got, take(len(want[6])))
	c1.Close()
	got = append(got, take(len(want[7])))
	for i := range want {
		if len(want[i]) == 0 && len(got[i]) == 0 {
			continue
		}
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("step %d: fanio %q, reference %q", i, got[i], want[i])
		}
	}
}

type hookRecord struct {
	Event     string         `json:"event"`
	Code      int            `json:"code,omitempty"`
	Message   string         `json:"message,omitempty"`
	Context   map[string]any `json:"context,omitempty"`
	Method    string         `json:"method,omitempty"`
	Transport string         `json:"transport,omitempty"`
}

// The same requests to engine.io (node/hooks/reference-hooks.mjs) and to
// fanio's engine give the same connection_error events (code, message,
// context), the same initial_headers and headers calls, and the headers
// those hooks set.
func TestEngineHooksMatchReference(t *testing.T) {
	ref, err := node.StartFixture("hooks/reference-hooks.mjs")
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Stop()

	var mu sync.Mutex
	var mine []hookRecord
	add := func(r hookRecord) { mu.Lock(); mine = append(mine, r); mu.Unlock() }
	eng := engine.NewServer(engine.Options{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		AllowRequest: func(r *engine.HandshakeRequest) error {
			if r.URL.Query().Get("deny") != "" {
				return errString("go away")
			}
			return nil
		},
	})
	eng.OnConnection(func(s *engine.Session) { s.SetHandler(echoHandler{}) })
	eng.OnConnectionError(func(e *engine.ConnectionError) {
		ctx := map[string]any{}
		for k, v := range e.Context {
			ctx[k] = v
		}
		// as JSON numbers, for the comparison
		b, _ := json.Marshal(ctx)
		_ = json.Unmarshal(b, &ctx)
		add(hookRecord{Event: "connection_error", Code: e.Code, Message: e.Message, Context: ctx})
	})
	eng.OnInitialHeaders(func(h http.Header, r *engine.HandshakeRequest) {
		h.Set("X-Initial", "yes")
		add(hookRecord{Event: "initial_headers", Method: r.Method, Transport: r.URL.Query().Get("transport")})
	})
	eng.OnHeaders(func(h http.Header, r *engine.HandshakeRequest) {
		h.Set("X-Every", "1")
		add(hookRecord{Event: "headers", Method: r.Method, Transport: r.URL.Query().Get("transport")})
	})
	if err := eng.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer eng.Shutdown(context.Background())

	// requests runs the scenario against base and returns, per request,
	// the status and which hook headers the answer carried.
	requests := func(base string) []string {
		var out []string
		client := &http.Client{Timeout: 10 * time.Second}
		do := func(method, query, body string) string {
			req, _ := http.NewRequest(method, base+"/engine.io/?"+query, strings.NewReader(body))
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			q := query
			if i := strings.Index(q, "sid="); i >= 0 && !strings.HasSuffix(q, "sid=nope") {
				q = q[:i] + "sid=SID"
			}
			out = append(out, method+" "+q+" -> "+resp.Status[:3]+" initial="+resp.Header.Get("X-Initial")+" every="+resp.Header.Get("X-Every"))
			return string(b)
		}
		do("GET", "EIO=4&transport=carrier-pigeon", "")
		do("GET", "EIO=4&transport=polling&sid=nope", "")
		do("PUT", "EIO=4&transport=polling", "")
		do("GET", "EIO=3&transport=polling", "")
		do("GET", "EIO=4&transport=websocket", "")
		do("GET", "EIO=4&transport=polling&deny=1", "")
		open := do("GET", "EIO=4&transport=polling", "")
		var op struct {
			SID string `json:"sid"`
		}
		if len(open) < 2 || json.Unmarshal([]byte(open[1:]), &op) != nil {
			t.Fatalf("handshake answer %q", open)
		}
		sidQ := "EIO=4&transport=polling&sid=" + op.SID
		do("POST", sidQ, "4hi")
		do("GET", sidQ, "")
		do("GET", "EIO=4&transport=websocket&sid="+op.SID, "")
		// A WebSocket handshake: its 101 carries both hooks' headers.
		var hdr http.Header = http.Header{}
		d := ws.Dialer{OnHeader: func(k, v []byte) error { hdr.Add(string(k), string(v)); return nil }}
		conn, _, _, err := d.Dial(context.Background(), strings.Replace(base, "http", "ws", 1)+"/engine.io/?EIO=4&transport=websocket")
		if err != nil {
			t.Fatal(err)
		}
		conn.Close()
		out = append(out, "WS 101 initial="+hdr.Get("X-Initial")+" every="+hdr.Get("X-Every"))
		return out
	}
	refAnswers := requests("http://" + ref.HostPort())
	myAnswers := requests("http://" + eng.Addr().String())
	if !reflect.DeepEqual(myAnswers, refAnswers) {
		t.Errorf("answers differ:\nfanio     %q\nreference %q", myAnswers, refAnswers)
	}
	// The records, once both servers have logged them.
	var refRecords []hookRecord
	deadline := time.Now().Add(10 * time.Second)
	for {
		refRecords = refRecords[:0]
		for _, l := range ref.Lines() {
			var r hookRecord
			if json.Unmarshal([]byte(l), &r) == nil && r.Event != "listening" {
				refRecords = append(refRecords, r)
			}
		}
		mu.Lock()
		n := len(mine)
		mu.Unlock()
		if (len(refRecords) >= n && n > 0) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	for i := 0; i < max(len(mine), len(refRecords)); i++ {
		var a, b []byte
		if i < len(mine) {
			a, _ = json.Marshal(mine[i])
		}
		if i < len(refRecords) {
			b, _ = json.Marshal(refRecords[i])
		}
		if string(a) != string(b) {
			t.Errorf("hook call %d: fanio %s, reference %s", i, a, b)
		}
	}
}

type errString string

func (e errString) Error() string { return string(e) }

type echoHandler struct{}

func (echoHandler) OnMessage(s *engine.Session, data []byte, binary bool) { _ = s.Send(data, binary) }
func (echoHandler) OnClose(*engine.Session, engine.DisconnectReason)      {}

// What the Admin UI receives from cmd/fanio has the shapes it receives
// from the reference (socket.io 4.8 + @socket.io/admin-ui 0.5.1's
// instrument) for the same traffic (node/admin/shapes.mjs): the same
// events, the same keys and value types in every payload.
func TestAdminProtocolShapes(t *testing.T) {
	ref, err := node.StartFixture("admin/reference-admin.mjs", "--hash", adminHash)
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Stop()
	refRes := runNode(t, nil, "admin/shapes.mjs", "--url", "http://"+ref.HostPort(), "--path", "/socket.io/", "--password", "changeit", "--timeout", "30000")

	bin := goBuild(t, repoRoot(), "./cmd/fanio")
	p := startProc(t, listeningRE, nil, bin, "-addr", "127.0.0.1:0",
		"-admin-user", "admin", "-admin-password-hash", adminHash, "-admin-mode", "development")
	myRes := runNode(t, nil, "admin/shapes.mjs", "--url", "http://"+p.addr, "--path", "/socket.io/", "--password", "changeit", "--timeout", "30000")

	refShapes, myShapes := refRes.Result["shapes"].(map[string]any), myRes.Result["shapes"].(map[string]any)
	for name := range refShapes {
		if _, ok := myShapes[name]; !ok {
			t.Errorf("fanio sent no %q", name)
		}
	}
	for name, shape := range myShapes {
		want, ok := refShapes[name]
		if !ok {
			t.Errorf("fanio sent %q, the reference did not", name)
			continue
		}
		if !reflect.DeepEqual(shape, want) {
			a, _ := json.Marshal(shape)
			b, _ := json.Marshal(want)
			t.Errorf("%s: fanio %s\n   reference %s", name, a, b)
		}
	}
	// The session id comes before config, on both (the reference's comes
	// before CONNECT and is replayed by the client; fanio's after CONNECT).
	for _, res := range []*ScriptResult{refRes, myRes} {
		if order, _ := res.Result["order"].([]any); len(order) != 2 || order[0] != "session" || order[1] != "config" {
			t.Errorf("session and config came as %v", order)
		}
	}
	if err := p.stop(t); err != nil {
		t.Errorf("fanio exited with %v", err)
	}
}
