package admin

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fanio/fanio/internal/siotest"
	"github.com/fanio/fanio/sio"
)

// Test vectors: bcrypt("changeit") from the reference's tests and README,
// and a $2y$ hash (PHP's password_hash; PHP's documentation's example for
// "rasmuslerdorf"), the variant the reference's README warns about.
const (
	hashChangeit   = "$2b$10$nu1FHRkuxkZkqID.31gz4uQsyERZAn.m4IIruysTsHDODBtrqS5Me"
	hashChangeit2  = "$2b$10$heqvAkYMez.Va6Et2uXInOnkCT6/uQj1brkrbyG3LpopDklcq7ZOS"
	hash2yRasmus   = "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a"
	passwordRasmus = "rasmuslerdorf"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func start(t *testing.T, opts Options) (*sio.Server, *Admin) {
	t.Helper()
	srv := sio.NewServer(sio.Options{Logger: quiet(), PingInterval: time.Minute, PingTimeout: time.Minute})
	if opts.StatsInterval == 0 {
		opts.StatsInterval = 100 * time.Millisecond
	}
	a, err := Instrument(srv, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		a.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return srv, a
}

// adminClient is a UI stand-in on /admin: it reads events by name,
// skipping the periodic server_stats unless asked for.
type adminClient struct {
	*siotest.Client
	t *testing.T
}

func dialAdmin(t *testing.T, srv *sio.Server) *adminClient {
	c := siotest.Dial(t, srv.Addr().String())
	c.Wait = 10 * time.Second
	return &adminClient{c, t}
}

// event parses an "/admin" EVENT packet into its name and arguments.
func parseEvent(t *testing.T, text string) (string, []json.RawMessage) {
	t.Helper()
	const prefix = "2/admin,"
	if !strings.HasPrefix(text, prefix) {
		return "", nil
	}
	var arr []json.RawMessage
	if err := json.Unmarshal([]byte(text[len(prefix):]), &arr); err != nil || len(arr) == 0 {
		t.Fatalf("not an event: %q", text)
	}
	var name string
	_ = json.Unmarshal(arr[0], &name)
	return name, arr[1:]
}

// next returns the next event named name (others are skipped).
func (c *adminClient) next(name string) []json.RawMessage {
	c.t.Helper()
	return c.nextIn(name, "")
}

// nextIn returns the next event named name whose first argument is the
// namespace nsp ("": any).
func (c *adminClient) nextIn(name, nsp string) []json.RawMessage {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		m := c.Next()
		if m.IsBinary() {
			continue
		}
		n, args := parseEvent(c.t, m.Text)
		if n != name {
			continue
		}
		if nsp != "" {
			var first string
			if len(args) == 0 || json.Unmarshal(args[0], &first) != nil || first != nsp {
				continue
			}
		}
		return args
	}
	c.t.Fatalf("no %q event", name)
	return nil
}

// answer returns the CONNECT or CONNECT_ERROR packet of /admin, skipping
// the stream events that may precede it (as with the reference, a socket
// is in the namespace's rooms just before its CONNECT is sent).
func (c *adminClient) answer() string {
	c.t.Helper()
	for {
		m := c.Next()
		if strings.HasPrefix(m.Text, "0/admin,") || strings.HasPrefix(m.Text, "4/admin,") {
			return m.Text
		}
	}
}

// connect joins /admin without credentials.
func (c *adminClient) connect() {
	c.t.Helper()
	c.Send(`0/admin,`)
	if a := c.answer(); !strings.HasPrefix(a, `0/admin,{"sid":"`) {
		c.t.Fatalf("connect: %q", a)
	}
}

func str(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("not a string: %s", raw)
	}
	return s
}

func TestInstrumentOptions(t *testing.T) {
	srv := sio.NewServer(sio.Options{Logger: quiet()})
	defer srv.Shutdown(context.Background())
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{}, "must be set"},
		{Options{Auth: &BasicAuth{Username: "a", PasswordHash: hashChangeit}, NoAuth: true}, "exclude"},
		{Options{Auth: &BasicAuth{Username: "a", PasswordHash: "changeit"}}, "bcrypt"},
		{Options{NoAuth: true, Mode: "staging"}, "Mode"},
	} {
		if _, err := Instrument(srv, tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err %v, want one about %q", tc.opts, err, tc.want)
		}
	}
}

// Basic authentication: a wrong password gets the reference's
// connect_error; the right one is accepted and the UI gets a session id
// right after the CONNECT packet, then config and all_sockets; the session
// id alone logs in again. Every test vector, $2y$ included, works.
func TestBasicAuthAndSession(t *testing.T) {
	for _, v := range []struct{ hash, password string }{
		{hashChangeit, "changeit"}, {hashChangeit2, "changeit"}, {hash2yRasmus, passwordRasmus},
	} {
		srv, _ := start(t, Options{Auth: &BasicAuth{Username: "admin", PasswordHash: v.hash}})
		c := dialAdmin(t, srv)
		c.Send(`0/admin,{"username":"admin","password":"wrong"}`)
		if a := c.answer(); a != `4/admin,{"message":"invalid credentials"}` {
			t.Fatalf("wrong password: %q", a)
		}
		c.Send(`0/admin,{"username":"someone","password":"` + v.password + `"}`)
		if a := c.answer(); a != `4/admin,{"message":"invalid credentials"}` {
			t.Fatalf("wrong user: %q", a)
		}
		c.Send(`0/admin,{"username":"admin","password":"` + v.password + `"}`)
		if a := c.answer(); !strings.HasPrefix(a, `0/admin,{"sid":"`) {
			t.Fatalf("right password: %q", a)
		}
		// After CONNECT (never before it: the UI listens once connected),
		// the session id, then config. (Stream events may come between.)
		var order []string
		var session string
		for len(order) < 2 {
			name, args := parseEvent(t, c.Next().Text)
			switch name {
			case "session":
				if len(args) != 1 || !regexp.MustCompile(`^"[0-9a-f]{16}"$`).Match(args[0]) {
					t.Fatalf("session %s", args)
				}
				session = str(t, args[0])
				order = append(order, name)
			case "config":
				order = append(order, name)
			}
		}
		if order[0] != "session" {
			t.Fatalf("%s: %q, want the session id before config", v.hash, order)
		}
		c.next("all_sockets")

		c2 := dialAdmin(t, srv)
		c2.Send(`0/admin,{"sessionId":"` + session + `"}`)
		if a := c2.answer(); !strings.HasPrefix(a, `0/admin,{"sid":"`) {
			t.Fatalf("session login: %q", a)
		}
		for {
			name, _ := parseEvent(t, c2.Next().Text)
			if name == "session" {
				t.Fatal("a login by session id got a new session")
			}
			if name == "config" {
				break
			}
		}
		c3 := dialAdmin(t, srv)
		c3.Send(`0/admin,{"sessionId":"0123456789abcdef"}`)
		if a := c3.answer(); a != `4/admin,{"message":"invalid credentials"}` {
			t.Fatalf("unknown session: %q", a)
		}
	}
}

func features(t *testing.T, c *adminClient) []string {
	args := c.next("config")
	var cfg struct {
		SupportedFeatures []string `json:"supportedFeatures"`
	}
	if err := json.Unmarshal(args[0], &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg.SupportedFeatures
}

// config lists the features as the reference does for each mode.
func TestConfigFeatures(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		want []string
	}{
		{Options{NoAuth: true}, []string{"EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT", "AGGREGATED_EVENTS", "ALL_EVENTS"}},
		{Options{NoAuth: true, ReadOnly: true}, []string{"AGGREGATED_EVENTS", "ALL_EVENTS"}},
		{Options{NoAuth: true, Mode: ModeProduction}, []string{"EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT", "AGGREGATED_EVENTS"}},
	} {
		srv, _ := start(t, tc.opts)
		c := dialAdmin(t, srv)
		c.connect()
		if got := features(t, c); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%+v: features %q, want %q", tc.opts, got, tc.want)
		}
	}
}

type statsPayload struct {
	ServerID            string  `json:"serverId"`
	Hostname            string  `json:"hostname"`
	PID                 int     `json:"pid"`
	Uptime              float64 `json:"uptime"`
	ClientsCount        int     `json:"clientsCount"`
	PollingClientsCount int     `json:"pollingClientsCount"`
	AggregatedEvents    []struct {
		Timestamp int64  `json:"timestamp"`
		Type      string `json:"type"`
		SubType   string `json:"subType"`
		Count     int    `json:"count"`
	} `json:"aggregatedEvents"`
	Namespaces []struct {
		Name         string `json:"name"`
		SocketsCount int    `json:"socketsCount"`
	} `json:"namespaces"`
}

// server_stats comes at every interval with the reference's fields, in
// its key order, and the aggregated events of what happened meanwhile.
func TestServerStats(t *testing.T) {
	srv, _ := start(t, Options{NoAuth: true, ServerID: "node-a", Mode: ModeProduction})
	c := dialAdmin(t, srv)
	c.connect()
	u := siotest.Dial(t, srv.Addr().String())
	u.Connect("/", "")
	u.Close()
	totals := map[string]int{}
	var last statsPayload
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && (totals["rawConnection"] < 2 || totals["rawDisconnection/transport close"] < 1) {
		args := c.next("server_stats")
		raw := string(args[0])
		order := []string{`"serverId"`, `"hostname"`, `"pid"`, `"uptime"`, `"clientsCount"`, `"pollingClientsCount"`, `"aggregatedEvents"`, `"namespaces"`}
		pos := -1
		for _, k := range order {
			i := strings.Index(raw, k)
			if i < pos {
				t.Fatalf("key %s out of the reference's order in %s", k, raw)
			}
			pos = i
		}
		last = statsPayload{}
		if err := json.Unmarshal(args[0], &last); err != nil {
			t.Fatal(err)
		}
		for _, e := range last.AggregatedEvents {
			if e.Timestamp%1000 != 0 || e.Count <= 0 {
				t.Fatalf("bucket %+v", e)
			}
			key := e.Type
			if e.SubType != "" {
				key += "/" + e.SubType
			}
			totals[key] += e.Count
		}
	}
	if last.ServerID != "node-a" || last.PID <= 0 || last.Uptime <= 0 || last.Hostname == "" {
		t.Fatalf("stats %+v", last)
	}
	if totals["rawConnection"] < 2 || totals["rawDisconnection/transport close"] < 1 || totals["packetsIn"] < 2 || totals["bytesOut"] <= 0 {
		t.Fatalf("aggregated events %v", totals)
	}
	if last.ClientsCount != 1 {
		t.Fatalf("clientsCount %d with the admin alone", last.ClientsCount)
	}
	names := map[string]int{}
	for _, n := range last.Namespaces {
		names[n.Name] = n.SocketsCount
	}
	if names["/admin"] != 1 || names["/"] != 0 {
		t.Fatalf("namespaces %v", names)
	}
}

// Development mode streams what sockets do, in the reference's payloads.
func TestDevelopmentStream(t *testing.T) {
	srv, _ := start(t, Options{NoAuth: true})
	srv.OnConnection(func(s *sio.Socket) {
		s.SetData(map[string]any{"user": "alice"})
		s.Join("lobby")
		s.On("hello", func(s *sio.Socket, args sio.Args, ack sio.Ack) {
			_ = s.Emit("welcome", 42)
			if ack != nil {
				_ = ack("ok")
			}
		})
	})
	early := siotest.Dial(t, srv.Addr().String())
	earlySID := early.Connect("/", "")
	c := dialAdmin(t, srv)
	c.connect()
	all := c.next("all_sockets")
	var sockets []serializedSocket
	if err := json.Unmarshal(all[0], &sockets); err != nil {
		t.Fatal(err)
	}
	var found *serializedSocket
	for i := range sockets {
		if sockets[i].ID == earlySID {
			found = &sockets[i]
		}
	}
	if found == nil || found.Nsp != "/" || len(found.ClientID) != 12 || found.Transport != "websocket" ||
		string(found.Data) != `{"user":"alice"}` || found.Handshake.Address != "127.0.0.1" || found.Handshake.Issued == 0 ||
		!reflect.DeepEqual(sortedCopy(found.Rooms), sortedCopy([]string{earlySID, "lobby"})) {
		t.Fatalf("all_sockets: %+v", sockets)
	}

	// The early socket's own events (its connection, its own room, lobby)
	// were queued for the emitter goroutine when it connected, and may
	// still reach the admin socket, which joined since: skip them.
	notEarly := func(name, nsp string, id func([]json.RawMessage) string) []json.RawMessage {
		t.Helper()
		for {
			if args := c.nextIn(name, nsp); id(args) != earlySID {
				return args
			}
		}
	}
	joinedID := func(args []json.RawMessage) string { return str(t, args[2]) }
	u := siotest.Dial(t, srv.Addr().String())
	sid := u.Connect("/", "")
	args := notEarly("room_joined", "/", joinedID)
	if str(t, args[0]) != "/" || str(t, args[1]) != sid || str(t, args[2]) != sid {
		t.Fatalf("room_joined (own room) %s", args)
	}
	var sock serializedSocket
	args = notEarly("socket_connected", "", func(args []json.RawMessage) string {
		sock = serializedSocket{}
		_ = json.Unmarshal(args[0], &sock)
		return sock.ID
	})
	if err := json.Unmarshal(args[0], &sock); err != nil || sock.ID != sid || sock.Nsp != "/" {
		t.Fatalf("socket_connected %s", args)
	}
	if !regexp.MustCompile(`^"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"$`).Match(args[1]) {
		t.Fatalf("timestamp %s is not a JavaScript Date's JSON", args[1])
	}
	args = notEarly("room_joined", "/", joinedID)
	if str(t, args[1]) != "lobby" || str(t, args[2]) != sid {
		t.Fatalf("room_joined %s", args)
	}
	u.Send(`21["hello","there"]`)
	args = c.nextIn("event_received", "/")
	if str(t, args[0]) != "/" || str(t, args[1]) != sid || string(args[2]) != `["hello","there"]` {
		t.Fatalf("event_received %s", args)
	}
	args = c.nextIn("event_sent", "/")
	if string(args[2]) != `["welcome",42]` {
		t.Fatalf("event_sent %s", args)
	}
	u.Close()
	args = c.nextIn("room_left", "/")
	if str(t, args[0]) != "/" {
		t.Fatalf("room_left %s", args)
	}
	args = c.nextIn("socket_disconnected", "/")
	if str(t, args[0]) != "/" || str(t, args[1]) != sid || str(t, args[2]) != "transport close" {
		t.Fatalf("socket_disconnected %s", args)
	}
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// The UI's commands act on the sockets they name; a read-only admin
// ignores them.
func TestCommands(t *testing.T) {
	for _, readonly := range []bool{false, true} {
		srv, _ := start(t, Options{NoAuth: true, ReadOnly: readonly, Mode: ModeProduction})
		u1, u2 := siotest.Dial(t, srv.Addr().String()), siotest.Dial(t, srv.Addr().String())
		sid1 := u1.Connect("/", "")
		sid2 := u2.Connect("/", "")
		c := dialAdmin(t, srv)
		c.connect()
		c.next("config")
		c.Send(`2/admin,["join","/","vip","` + sid1 + `"]`)
		c.Send(`2/admin,["emit","/","vip","notice",{"a":1}]`)
		c.Send(`2/admin,["emit","/",null,"everyone"]`)
		c.Send(`2/admin,["join","/nope","vip"]`) // an unknown namespace: nothing (and not created)
		if readonly {
			u1.ExpectNothing(200 * time.Millisecond)
			u2.ExpectNothing(0)
			if srv.Lookup("/nope") != nil {
				t.Fatal("a command created a namespace")
			}
			continue
		}
		u1.Expect(`2["notice",{"a":1}]`)
		u1.Expect(`2["everyone"]`)
		u2.Expect(`2["everyone"]`)
		if srv.Lookup("/nope") != nil {
			t.Fatal("a command created a namespace")
		}
		c.Send(`2/admin,["leave","/","vip"]`)
		c.Send(`2/admin,["emit","/","vip","after-leave"]`)
		c.Send(`2/admin,["_disconnect","/",false,"` + sid2 + `"]`)
		u2.Expect(`1`)
		u1.ExpectNothing(200 * time.Millisecond)
		c.Send(`2/admin,["_disconnect","/",true]`)
		u1.Expect(`1`)
		u1.WaitClosed()
		_ = sid2
	}
}
