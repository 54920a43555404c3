package integration

// Cluster interop: a Node.js node (socket.io 4.8.4 + @socket.io/redis-adapter
// 8.3.0, node/cluster/server.mjs) and a fanio node (redisadapter) on one
// private redis-server, official socket.io-client 4.8.4 sockets on each
// (node/cluster/clients.mjs), over polling and WebSocket; every operation
// each way, in the classic and the sharded protocol. Then two fanio nodes
// together, and a Redis restart mid-stream.

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/fanio/fanio/internal/redistest"
	"github.com/fanio/fanio/redisadapter"
	"github.com/fanio/fanio/redisemitter"
	"github.com/fanio/fanio/sio"
)

type clusterEnv struct {
	mode    string
	parser  string // of both nodes and the clients: "json" or "msgpack"
	redis   *redistest.Server
	nodeJS  *rpcProc
	fanio   *fanioNode
	clients *rpcProc
	sids    map[string]string
	target  map[string]string // client name -> "node" | "fanio"
}

func newClusterEnv(t *testing.T, mode string) *clusterEnv {
	t.Helper()
	return newClusterEnvParser(t, mode, "json")
}

// newClusterEnvParser is newClusterEnv with both nodes and the clients on
// parser ("json" or "msgpack").
func newClusterEnvParser(t *testing.T, mode, parser string) *clusterEnv {
	t.Helper()
	p, err := sio.ParserByName(parser)
	if err != nil {
		t.Fatal(err)
	}
	e := &clusterEnv{mode: mode, parser: parser, redis: startRedis(t), sids: map[string]string{}, target: map[string]string{}}
	e.nodeJS = startRPC(t, "node server", "cluster/server.mjs", "--redis", e.redis.URL(), "--mode", mode, "--parser", parser)
	e.fanio = startFanioNodeParser(t, e.redis.URL(), redisadapter.Options{Sharded: mode == "sharded"}, p)
	e.clients = startRPC(t, "clients", "cluster/clients.mjs")
	for _, c := range []struct{ name, target, transport string }{
		{"np", "node", "polling"}, {"nw", "node", "websocket"},
		{"fp", "fanio", "polling"}, {"fw", "fanio", "websocket"},
	} {
		e.connect(t, c.name, c.target, c.transport)
	}
	return e
}

func (e *clusterEnv) url(target string) string {
	if target == "node" {
		return "http://127.0.0.1:" + strconv.Itoa(e.nodeJS.port)
	}
	return e.fanio.URL()
}

func (e *clusterEnv) connect(t *testing.T, name, target, transport string) {
	t.Helper()
	var sid string
	e.clients.must(t, "connect", map[string]any{"name": name, "url": e.url(target), "transport": transport, "parser": e.parser}, &sid)
	e.sids[name], e.target[name] = sid, target
	if target == "fanio" {
		waitUntil(t, "fanio socket "+name, func() bool { return e.fanio.srv.Sockets().Socket(sid) != nil })
	}
}

// join makes client name join room (through its node's "join" handler).
func (e *clusterEnv) join(t *testing.T, name, room string) {
	t.Helper()
	e.clients.must(t, "emit", map[string]any{"name": name, "event": "join", "args": []any{room}, "ack": true}, nil)
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// expectEvents waits until each client in want received its events, then
// a little longer, and checks each got exactly those (in order), and that
// the clients not in want got nothing.
func (e *clusterEnv) expectEvents(t *testing.T, want map[string][]any) {
	t.Helper()
	for name, evs := range want {
		if len(evs) == 0 {
			continue
		}
		last := evs[len(evs)-1].([]any)
		count := 0
		for _, ev := range evs {
			if ev.([]any)[0] == last[0] {
				count++
			}
		}
		if err := e.clients.call("wait", map[string]any{"name": name, "event": last[0], "count": count}, nil); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(150 * time.Millisecond)
	for name := range e.sids {
		var got []any
		e.clients.must(t, "take", map[string]any{"name": name}, &got)
		// Events from different nodes may come in either order.
		if !sameJSON(sortedJSON(got), sortedJSON(want[name])) {
			t.Errorf("%s (on %s) got %s, want %s", name, e.target[name], jsonString(got), jsonString(want[name]))
		}
	}
}

// sortedJSON sorts a list by the JSON text of its elements.
func sortedJSON(l []any) []any {
	out := append([]any(nil), l...)
	sort.Slice(out, func(i, j int) bool { return jsonString(out[i]) < jsonString(out[j]) })
	return out
}

// sameJSON compares two values as JSON.
func sameJSON(a, b any) bool {
	var x, y any
	_ = json.Unmarshal([]byte(jsonString(a)), &x)
	_ = json.Unmarshal([]byte(jsonString(b)), &y)
	if x == nil && y != nil {
		if l, ok := y.([]any); ok && len(l) == 0 {
			return true
		}
	}
	if y == nil && x != nil {
		if l, ok := x.([]any); ok && len(l) == 0 {
			return true
		}
	}
	return reflect.DeepEqual(x, y)
}

func ev(name string, args ...any) []any { return append([]any{name}, args...) }

// nodeRooms returns the rooms of a Node-side socket.
func (e *clusterEnv) nodeRooms(t *testing.T, name string) []string {
	t.Helper()
	var socks []struct {
		ID    string   `json:"id"`
		Rooms []string `json:"rooms"`
	}
	e.nodeJS.must(t, "localSockets", nil, &socks)
	for _, s := range socks {
		if s.ID == e.sids[name] {
			return s.Rooms
		}
	}
	return nil
}

func (e *clusterEnv) fanioRooms(name string) []string {
	if s := e.fanio.srv.Sockets().Socket(e.sids[name]); s != nil {
		return s.Rooms()
	}
	return nil
}

func TestClusterInterop(t *testing.T) {
	for _, mode := range []string{"classic", "sharded"} {
		t.Run(mode, func(t *testing.T) {
			e := newClusterEnv(t, mode)
			t.Run("serverCount", func(t *testing.T) {
				var n int
				e.nodeJS.must(t, "serverCount", nil, &n)
				m, err := e.fanio.srv.Sockets().Adapter().ServerCount()
				if n != 2 || m != 2 || err != nil {
					t.Fatalf("Node counts %d, fanio %d (%v)", n, m, err)
				}
			})
			t.Run("broadcasts", func(t *testing.T) { testClusterBroadcasts(t, e) })
			// @socket.io/redis-emitter speaks the classic protocol only (the
			// Go emitter's sharded mode is tested in redisemitter).
			if mode == "classic" {
				t.Run("emitter", func(t *testing.T) { testClusterEmitter(t, e) })
			}
			t.Run("goEmitter", func(t *testing.T) { testClusterGoEmitter(t, e) })
			t.Run("fetchSockets", func(t *testing.T) { testClusterFetch(t, e) })
			t.Run("socketsJoinLeaveDisconnect", func(t *testing.T) { testClusterSocketsOps(t, e) })
			t.Run("serverSideEmit", func(t *testing.T) { testClusterServerSideEmit(t, e) })
			t.Run("broadcastAcks", func(t *testing.T) { testClusterBroadcastAcks(t, e) })
			// Node's sharded adapter has no allRooms (fanio's, answered
			// through fetchSockets, is tested in redisadapter).
			if mode != "classic" {
				return
			}
			t.Run("allRooms", func(t *testing.T) {
				var rooms []string
				e.nodeJS.must(t, "allRooms", nil, &rooms)
				mine, err := e.fanio.srv.Sockets().AllRooms()
				if err != nil {
					t.Fatal(err)
				}
				for _, want := range []string{e.sids["fw"], e.sids["np"], "ra"} {
					if !slices.Contains(rooms, want) || !slices.Contains(mine, want) {
						t.Errorf("%q: Node's allRooms %v, fanio's %v", want, rooms, mine)
					}
				}
			})
		})
	}
}

// A cluster whose nodes (fanio's and Node's) and clients all use
// socket.io-msgpack-parser: broadcasts each way (binary at the top and
// nested) and broadcast acknowledgements each way; the Redis messages are
// the adapter's own format, whatever the parser.
func TestClusterMsgpack(t *testing.T) {
	e := newClusterEnvParser(t, "classic", "msgpack")
	t.Run("broadcasts", func(t *testing.T) { testClusterBroadcasts(t, e) })
	t.Run("broadcastAcks", func(t *testing.T) { testClusterBroadcastAcks(t, e) })
}

func testClusterBroadcasts(t *testing.T, e *clusterEnv) {
	f := e.fanio.srv
	e.join(t, "np", "ra")
	e.join(t, "fw", "ra")
	e.join(t, "nw", "rb")
	time.Sleep(100 * time.Millisecond) // dynamic room subscriptions are asynchronous, on both sides

	// to everyone
	if err := f.Emit("all", "x", 1.5, map[string]any{"k": true}); err != nil {
		t.Fatal(err)
	}
	all := ev("all", "x", 1.5, map[string]any{"k": true})
	e.expectEvents(t, map[string][]any{"np": {all}, "nw": {all}, "fp": {all}, "fw": {all}})
	e.nodeJS.must(t, "emit", map[string]any{"event": "all2", "args": []any{"y"}}, nil)
	all2 := ev("all2", "y")
	e.expectEvents(t, map[string][]any{"np": {all2}, "nw": {all2}, "fp": {all2}, "fw": {all2}})

	// one room, several rooms, except
	if err := f.To("ra").Emit("room"); err != nil {
		t.Fatal(err)
	}
	e.nodeJS.must(t, "emit", map[string]any{"rooms": []string{"ra"}, "event": "room2"}, nil)
	e.expectEvents(t, map[string][]any{"np": {ev("room"), ev("room2")}, "fw": {ev("room"), ev("room2")}})
	if err := f.To("ra", "rb").Except(e.sids["fw"]).Emit("multi"); err != nil {
		t.Fatal(err)
	}
	e.nodeJS.must(t, "emit", map[string]any{"rooms": []string{"ra", "rb"}, "except": []string{"rb"}, "event": "multi2"}, nil)
	e.expectEvents(t, map[string][]any{"np": {ev("multi"), ev("multi2")}, "nw": {ev("multi")}, "fw": {ev("multi2")}})
	if err := f.Except("ra").Emit("except"); err != nil {
		t.Fatal(err)
	}
	e.nodeJS.must(t, "emit", map[string]any{"except": []string{"ra"}, "event": "except2"}, nil)
	e.expectEvents(t, map[string][]any{"nw": {ev("except"), ev("except2")}, "fp": {ev("except"), ev("except2")}})

	// to one socket of the other node
	if err := f.To(e.sids["nw"]).Emit("direct", "to-nw"); err != nil {
		t.Fatal(err)
	}
	e.nodeJS.must(t, "emit", map[string]any{"rooms": []string{e.sids["fp"]}, "event": "direct", "args": []any{"to-fp"}}, nil)
	e.expectEvents(t, map[string][]any{"nw": {ev("direct", "to-nw")}, "fp": {ev("direct", "to-fp")}})

	// binary, at the top and nested
	if err := f.To("ra").Emit("bin", []byte{1, 2, 3}, map[string]any{"n": []byte{4, 5}}); err != nil {
		t.Fatal(err)
	}
	e.nodeJS.must(t, "emit", map[string]any{"rooms": []string{"ra"}, "event": "bin2", "args": []any{bin([]byte{6}), map[string]any{"n": []any{bin([]byte{7, 8})}}}}, nil)
	b1 := ev("bin", bin([]byte{1, 2, 3}), map[string]any{"n": bin([]byte{4, 5})})
	b2 := ev("bin2", bin([]byte{6}), map[string]any{"n": []any{bin([]byte{7, 8})}})
	e.expectEvents(t, map[string][]any{"np": {b1, b2}, "fw": {b1, b2}})

	// volatile and compress flags go through (WebSocket clients can take them)
	if err := f.Volatile().Compress(false).To("rb", "ra").Except("ra").Emit("vol"); err != nil {
		t.Fatal(err)
	}
	e.nodeJS.must(t, "emit", map[string]any{"rooms": []string{e.sids["fw"]}, "volatile": true, "compress": false, "event": "vol2"}, nil)
	e.expectEvents(t, map[string][]any{"nw": {ev("vol")}, "fw": {ev("vol2")}})

	// Local stays on its node
	if err := f.Local().Emit("local"); err != nil {
		t.Fatal(err)
	}
	e.nodeJS.must(t, "emit", map[string]any{"local": true, "event": "local2"}, nil)
	e.expectEvents(t, map[string][]any{"np": {ev("local2")}, "nw": {ev("local2")}, "fp": {ev("local")}, "fw": {ev("local")}})
}

func testClusterEmitter(t *testing.T, e *clusterEnv) {
	e.nodeJS.must(t, "emitter", map[string]any{"action": "emit", "rooms": []string{"ra"}, "event": "em", "args": []any{"hi", bin([]byte{9, 9})}}, nil)
	e.nodeJS.must(t, "emitter", map[string]any{"action": "emit", "event": "em-all"}, nil)
	em := ev("em", "hi", bin([]byte{9, 9}))
	e.expectEvents(t, map[string][]any{"np": {em, ev("em-all")}, "fw": {em, ev("em-all")}, "nw": {ev("em-all")}, "fp": {ev("em-all")}})

	e.nodeJS.must(t, "emitter", map[string]any{"action": "socketsJoin", "rooms": []string{"ra"}, "join": "emj"}, nil)
	waitUntil(t, "the emitter's socketsJoin on fanio", func() bool { return slices.Contains(e.fanioRooms("fw"), "emj") })
	if slices.Contains(e.fanioRooms("fp"), "emj") {
		t.Error("fp joined a room meant for ra")
	}
	e.nodeJS.must(t, "emitter", map[string]any{"action": "socketsLeave", "rooms": []string{"emj"}, "leave": "emj"}, nil)
	waitUntil(t, "the emitter's socketsLeave on fanio", func() bool { return !slices.Contains(e.fanioRooms("fw"), "emj") })

	e.nodeJS.must(t, "emitter", map[string]any{"action": "serverSideEmit", "event": "sse", "args": []any{"from-emitter"}}, nil)
	waitUntil(t, "the emitter's serverSideEmit on fanio", func() bool {
		return slices.ContainsFunc(e.fanio.sseSeen(), func(a []any) bool { return len(a) == 1 && a[0] == `"from-emitter"` })
	})

	e.connect(t, "fx", "fanio", "websocket")
	e.nodeJS.must(t, "emitter", map[string]any{"action": "disconnectSockets", "rooms": []string{e.sids["fx"]}, "close": false}, nil)
	var reason string
	e.clients.must(t, "waitDisconnect", map[string]any{"name": "fx"}, &reason)
	if reason != "io server disconnect" {
		t.Errorf("fx disconnected with %q", reason)
	}
	delete(e.sids, "fx")
}

// The Go emitter (redisemitter) reaches the Node node's sockets too, in
// both protocols.
func testClusterGoEmitter(t *testing.T, e *clusterEnv) {
	em, err := redisemitter.New(context.Background(), redisemitter.Options{URL: e.redis.URL(), Sharded: e.mode == "sharded"})
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	if err := em.To("ra").Emit("goem", "hi", []byte{7}, map[string]any{"n": []byte{8}}); err != nil {
		t.Fatal(err)
	}
	if err := em.Except("ra").Emit("goem-except"); err != nil {
		t.Fatal(err)
	}
	g := ev("goem", "hi", bin([]byte{7}), map[string]any{"n": bin([]byte{8})})
	e.expectEvents(t, map[string][]any{"np": {g}, "fw": {g}, "nw": {ev("goem-except")}, "fp": {ev("goem-except")}})
	if err := em.In("ra").SocketsJoin("gj"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the Go emitter's socketsJoin on Node", func() bool { return slices.Contains(e.nodeRooms(t, "np"), "gj") })
	waitUntil(t, "the Go emitter's socketsJoin on fanio", func() bool { return slices.Contains(e.fanioRooms("fw"), "gj") })
	if err := em.SocketsLeave("gj"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the Go emitter's socketsLeave on Node", func() bool { return !slices.Contains(e.nodeRooms(t, "np"), "gj") })
	if err := em.ServerSideEmit("sse", "from-go-emitter"); err != nil {
		t.Fatal(err)
	}
	e.nodeJS.waitEvent(t, "the Go emitter's serverSideEmit", func(m map[string]any) bool {
		return m["event"] == "sse" && jsonString(m["args"]) == `["from-go-emitter"]`
	})
}

type nodeSocket struct {
	ID        string          `json:"id"`
	Rooms     []string        `json:"rooms"`
	Data      json.RawMessage `json:"data"`
	Handshake struct {
		Query   map[string]any  `json:"query"`
		Auth    json.RawMessage `json:"auth"`
		Address string          `json:"address"`
		Issued  float64         `json:"issued"`
	} `json:"handshake"`
}

func testClusterFetch(t *testing.T, e *clusterEnv) {
	// fanio fetches, and acts on a socket of the Node node
	socks, err := e.fanio.srv.In("ra").FetchSockets()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	var np *sio.RemoteSocket
	for _, s := range socks {
		ids = append(ids, s.ID)
		if s.ID == e.sids["np"] {
			np = s
		}
	}
	sort.Strings(ids)
	want := []string{e.sids["np"], e.sids["fw"]}
	sort.Strings(want)
	if !slices.Equal(ids, want) || np == nil {
		t.Fatalf("fetched %v, want %v", ids, want)
	}
	if np.Local != nil || string(np.Data.(json.RawMessage)) != `{"name":"np"}` || !slices.Contains(np.Rooms, "ra") ||
		np.Handshake.Query.Get("transport") != "polling" || string(np.Handshake.Auth) != `{"name":"np"}` ||
		np.Handshake.Issued == 0 || np.Handshake.Address == "" {
		t.Errorf("remote socket described as %+v / %+v", np.SocketDetails, np.Handshake)
	}
	if err := np.Emit("remote-emit", "hello"); err != nil {
		t.Fatal(err)
	}
	e.expectEvents(t, map[string][]any{"np": {ev("remote-emit", "hello")}})
	np.Join("rj")
	waitUntil(t, "the remote join", func() bool { return slices.Contains(e.nodeRooms(t, "np"), "rj") })
	np.Leave("rj")
	waitUntil(t, "the remote leave", func() bool { return !slices.Contains(e.nodeRooms(t, "np"), "rj") })
	res, err := np.Timeout(5*time.Second).EmitWithAck(context.Background(), "remote-ask")
	if err != nil || len(res) != 1 || res[0].String() != `"ack:np"` {
		t.Fatalf("remote EmitWithAck: %v %v", res, err)
	}
	e.expectEvents(t, map[string][]any{"np": {ev("remote-ask")}})

	// Node fetches, and acts on a socket of the fanio node
	var nsocks []nodeSocket
	e.nodeJS.must(t, "fetch", map[string]any{"rooms": []string{"ra"}}, &nsocks)
	var fw *nodeSocket
	for i := range nsocks {
		if nsocks[i].ID == e.sids["fw"] {
			fw = &nsocks[i]
		}
	}
	if len(nsocks) != 2 || fw == nil {
		t.Fatalf("Node fetched %s", jsonString(nsocks))
	}
	if string(fw.Data) != `{"name":"fw"}` || !slices.Contains(fw.Rooms, "ra") || !slices.Contains(fw.Rooms, e.sids["fw"]) ||
		fw.Handshake.Query["transport"] != "websocket" || string(fw.Handshake.Auth) != `{"name":"fw"}` || fw.Handshake.Issued == 0 {
		t.Errorf("fanio socket described to Node as %s", jsonString(fw))
	}
	e.nodeJS.must(t, "remoteEmit", map[string]any{"sid": e.sids["fw"], "event": "remote-emit2", "args": []any{bin([]byte{1})}}, nil)
	e.expectEvents(t, map[string][]any{"fw": {ev("remote-emit2", bin([]byte{1}))}})
	e.nodeJS.must(t, "remoteJoin", map[string]any{"sid": e.sids["fw"], "room": "nj"}, nil)
	waitUntil(t, "Node's remote join", func() bool { return slices.Contains(e.fanioRooms("fw"), "nj") })
	e.nodeJS.must(t, "remoteLeave", map[string]any{"sid": e.sids["fw"], "room": "nj"}, nil)
	waitUntil(t, "Node's remote leave", func() bool { return !slices.Contains(e.fanioRooms("fw"), "nj") })

	// remote disconnects, each way
	e.connect(t, "nx", "node", "polling")
	e.connect(t, "fx", "fanio", "polling")
	socks, err = e.fanio.srv.In(e.sids["nx"]).FetchSockets()
	if err != nil || len(socks) != 1 {
		t.Fatalf("fetch nx: %v %v", socks, err)
	}
	socks[0].Disconnect(false)
	e.nodeJS.must(t, "remoteDisconnect", map[string]any{"sid": e.sids["fx"], "close": true}, nil)
	// disconnect(true) sends DISCONNECT before closing, in Node as in fanio
	for name, want := range map[string]string{"nx": "io server disconnect", "fx": "io server disconnect"} {
		var reason string
		e.clients.must(t, "waitDisconnect", map[string]any{"name": name}, &reason)
		if reason != want {
			t.Errorf("%s disconnected with %q, want %q", name, reason, want)
		}
		delete(e.sids, name)
	}
}

func testClusterSocketsOps(t *testing.T, e *clusterEnv) {
	f := e.fanio.srv
	f.In("ra").SocketsJoin("sj")
	waitUntil(t, "fanio's socketsJoin on Node", func() bool { return slices.Contains(e.nodeRooms(t, "np"), "sj") })
	if !slices.Contains(e.fanioRooms("fw"), "sj") || slices.Contains(e.nodeRooms(t, "nw"), "sj") {
		t.Errorf("socketsJoin reached the wrong sockets: fw %v nw %v", e.fanioRooms("fw"), e.nodeRooms(t, "nw"))
	}
	f.In("sj").Except(e.sids["fw"]).SocketsLeave("sj")
	waitUntil(t, "fanio's socketsLeave on Node", func() bool { return !slices.Contains(e.nodeRooms(t, "np"), "sj") })
	if !slices.Contains(e.fanioRooms("fw"), "sj") {
		t.Error("socketsLeave ignored except")
	}

	e.nodeJS.must(t, "socketsJoin", map[string]any{"rooms": []string{"ra"}, "join": "sj2"}, nil)
	waitUntil(t, "Node's socketsJoin on fanio", func() bool { return slices.Contains(e.fanioRooms("fw"), "sj2") })
	e.nodeJS.must(t, "socketsLeave", map[string]any{"rooms": []string{"sj2"}, "leave": "sj2"}, nil)
	waitUntil(t, "Node's socketsLeave on fanio", func() bool { return !slices.Contains(e.fanioRooms("fw"), "sj2") })

	e.connect(t, "nx", "node", "websocket")
	e.connect(t, "fx", "fanio", "websocket")
	f.In(e.sids["nx"]).DisconnectSockets(false)
	e.nodeJS.must(t, "disconnectSockets", map[string]any{"rooms": []string{e.sids["fx"]}, "close": false}, nil)
	for _, name := range []string{"nx", "fx"} {
		var reason string
		e.clients.must(t, "waitDisconnect", map[string]any{"name": name}, &reason)
		if reason != "io server disconnect" {
			t.Errorf("%s disconnected with %q", name, reason)
		}
		delete(e.sids, name)
	}
	var connected bool
	e.clients.must(t, "connected", map[string]any{"name": "np"}, &connected)
	if !connected {
		t.Error("a socket not selected was disconnected")
	}
}

func testClusterServerSideEmit(t *testing.T, e *clusterEnv) {
	f := e.fanio.srv
	if err := f.ServerSideEmit("sse", "plain-f", map[string]any{"n": 1}); err != nil {
		t.Fatal(err)
	}
	e.nodeJS.waitEvent(t, "fanio's serverSideEmit", func(m map[string]any) bool {
		return m["event"] == "sse" && jsonString(m["args"]) == `["plain-f",{"n":1}]`
	})
	e.nodeJS.must(t, "sse", map[string]any{"event": "sse", "args": []any{"plain-n", 2}}, nil)
	waitUntil(t, "Node's serverSideEmit on fanio", func() bool {
		return slices.ContainsFunc(e.fanio.sseSeen(), func(a []any) bool { return jsonString(a) == `["\"plain-n\"","2"]` })
	})

	res, err := f.ServerSideEmitWithAck(context.Background(), "sse", "q-f")
	if err != nil || len(res) != 1 || res[0][0].String() != `"node:q-f"` {
		t.Fatalf("fanio serverSideEmitWithAck: %v %v", res, err)
	}
	var out struct {
		Responses []any  `json:"responses"`
		Error     string `json:"error"`
	}
	e.nodeJS.must(t, "sseAck", map[string]any{"event": "sse", "args": []any{"q-n"}}, &out)
	if out.Error != "" || jsonString(out.Responses) != `["fanio:q-n"]` {
		t.Fatalf("Node serverSideEmitWithAck: %+v", out)
	}
}

func testClusterBroadcastAcks(t *testing.T, e *clusterEnv) {
	f := e.fanio.srv
	res, err := f.Timeout(5*time.Second).EmitWithAck(context.Background(), "ask", "?")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range res {
		got = append(got, r[0].String())
	}
	sort.Strings(got)
	if jsonString(got) != `["\"ack:fp\"","\"ack:fw\"","\"ack:np\"","\"ack:nw\""]` {
		t.Errorf("fanio collected %v", got)
	}
	var out struct {
		Responses []string `json:"responses"`
		Error     string   `json:"error"`
	}
	e.nodeJS.must(t, "emitWithAck", map[string]any{"timeout": 5000, "event": "ask2"}, &out)
	sort.Strings(out.Responses)
	if out.Error != "" || jsonString(out.Responses) != `["ack:fp","ack:fw","ack:np","ack:nw"]` {
		t.Errorf("Node collected %+v", out)
	}
	for _, name := range []string{"np", "nw", "fp", "fw"} {
		e.clients.must(t, "take", map[string]any{"name": name}, nil)
	}

	// binary answers, each way
	e.clients.must(t, "setAck", map[string]any{"name": "np", "reply": []any{bin([]byte{0xca, 0xfe})}}, nil)
	res, err = f.To(e.sids["np"]).Timeout(5*time.Second).EmitWithAck(context.Background(), "ask-bin")
	if err != nil || len(res) != 1 || !res[0][0].IsBinary() || string(res[0][0].Bytes()) != "\xca\xfe" {
		t.Errorf("binary ack from Node's client: %v %v", res, err)
	}
	e.clients.must(t, "setAck", map[string]any{"name": "fw", "reply": []any{map[string]any{"b": bin([]byte{1})}}}, nil)
	var outBin struct {
		Responses []any  `json:"responses"`
		Error     string `json:"error"`
	}
	e.nodeJS.must(t, "emitWithAck", map[string]any{"rooms": []string{e.sids["fw"]}, "timeout": 5000, "event": "ask-bin"}, &outBin)
	if outBin.Error != "" || jsonString(outBin.Responses) != `[{"b":{"$bin":"01"}}]` {
		t.Errorf("binary ack from fanio's client: %+v", outBin)
	}

	// a client that does not answer: both sides time out with what came
	e.clients.must(t, "setAck", map[string]any{"name": "nw", "reply": nil}, nil)
	res, err = f.Timeout(time.Second).EmitWithAck(context.Background(), "ask3")
	if !errors.Is(err, sio.ErrAckTimeout) || len(res) != 3 {
		t.Errorf("fanio with a silent client: %d responses, %v", len(res), err)
	}
	e.nodeJS.must(t, "emitWithAck", map[string]any{"timeout": 1000, "event": "ask4"}, &outBin)
	if outBin.Error != "operation has timed out" || len(outBin.Responses) != 3 {
		t.Errorf("Node with a silent client: %+v", outBin)
	}
	e.clients.must(t, "setAck", map[string]any{"name": "nw", "reply": []any{"ack:nw"}}, nil)
	for _, name := range []string{"np", "nw", "fp", "fw"} {
		e.clients.must(t, "take", map[string]any{"name": name}, nil)
	}
}
