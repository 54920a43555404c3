package redisadapter

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fanio/fanio/internal/redistest"
	"github.com/fanio/fanio/sio"
)

var modes = []struct {
	name string
	opts Options
}{
	{"classic", Options{}},
	{"sharded-dynamic", Options{Sharded: true}},
	{"sharded-static", Options{Sharded: true, SubscriptionMode: Static}},
	{"sharded-dynamic-private", Options{Sharded: true, SubscriptionMode: DynamicPrivate}},
}

func forModes(t *testing.T, fn func(t *testing.T, opts Options)) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			// Each mode has its own redis-server; the tests mostly wait.
			t.Parallel()
			fn(t, m.opts)
		})
	}
}

// Broadcasts from one node reach the right sockets of the other: all,
// rooms, except, binary, volatile, compress; Local stays home.
func TestBroadcastAcrossNodes(t *testing.T) {
	forModes(t, func(t *testing.T, opts Options) {
		_, ns := cluster(t, 2, opts)
		a, b := ns[0], ns[1]
		ca, cb1, cb2 := dial(t, a), dial(t, b), dial(t, b)
		b.socket(t, cb1).Join("r1")
		b.socket(t, cb2).Join("r2")
		a.socket(t, ca).Join("r1")
		if opts.Sharded && opts.SubscriptionMode != Static {
			// the room subscriptions are made asynchronously
			waitFor(t, "room subscriptions", func() bool { return b.rc.sub.sync(context.Background(), time.Second) == nil })
		}

		if err := a.srv.Emit("all", 1, "x"); err != nil {
			t.Fatal(err)
		}
		for _, c := range []*client{ca, cb1, cb2} {
			c.expect(`2["all",1,"x"]`)
		}
		if err := a.srv.To("r1").Emit("room", map[string]any{"k": "v"}); err != nil {
			t.Fatal(err)
		}
		ca.expect(`2["room",{"k":"v"}]`)
		cb1.expect(`2["room",{"k":"v"}]`)
		cb2.expectNothing(100 * time.Millisecond)

		if err := a.srv.To("r1", "r2").Except("r2").Emit("except"); err != nil {
			t.Fatal(err)
		}
		ca.expect(`2["except"]`)
		cb1.expect(`2["except"]`)
		if err := a.srv.Except("r1").Emit("except2"); err != nil {
			t.Fatal(err)
		}
		cb2.expect(`2["except2"]`)
		ca.expectNothing(50 * time.Millisecond)
		cb1.expectNothing(50 * time.Millisecond)

		if err := a.srv.To("r2").Emit("bin", []byte{1, 2, 3}, map[string]any{"f": []byte{4}}); err != nil {
			t.Fatal(err)
		}
		cb2.expect(`52-["bin",{"_placeholder":true,"num":0},{"f":{"_placeholder":true,"num":1}}]`)
		cb2.expect("bin:\x01\x02\x03")
		cb2.expect("bin:\x04")

		// to one socket (its own room), from a socket (broadcast excludes it)
		if err := a.srv.To(cb1.sid).Emit("direct", "d"); err != nil {
			t.Fatal(err)
		}
		cb1.expect(`2["direct","d"]`)
		if err := a.socket(t, ca).Broadcast().Emit("fromSocket"); err != nil {
			t.Fatal(err)
		}
		cb1.expect(`2["fromSocket"]`)
		cb2.expect(`2["fromSocket"]`)
		ca.expectNothing(50 * time.Millisecond)

		if err := a.srv.Volatile().Compress(false).Emit("vol"); err != nil {
			t.Fatal(err)
		}
		for _, c := range []*client{ca, cb1, cb2} {
			c.expect(`2["vol"]`)
		}
		if err := a.srv.Local().Emit("local"); err != nil {
			t.Fatal(err)
		}
		ca.expect(`2["local"]`)
		cb1.expectNothing(100 * time.Millisecond)

		// the other way, and another namespace
		if err := b.srv.Emit("back"); err != nil {
			t.Fatal(err)
		}
		ca.expect(`2["back"]`)
		cb1.expect(`2["back"]`)
		cb2.expect(`2["back"]`)
	})
}

func TestServerCount(t *testing.T) {
	forModes(t, func(t *testing.T, opts Options) {
		rs, ns := cluster(t, 3, opts)
		ns[2].stop()
		waitFor(t, "the stopped node to leave the count", func() bool {
			n, err := ns[0].srv.Sockets().Adapter().ServerCount()
			return err == nil && n == 2
		})
		// one connection per node holds the subscriptions, whatever the
		// namespaces
		ns[0].srv.Of("/other")
		n, err := ns[0].srv.Of("/other").Adapter().ServerCount()
		if err != nil || n != 1 {
			t.Fatalf("/other: %d %v", n, err)
		}
		_ = rs
	})
}

func TestFetchSocketsAndRemoteActions(t *testing.T) {
	forModes(t, func(t *testing.T, opts Options) {
		_, ns := cluster(t, 2, opts)
		a, b := ns[0], ns[1]
		ca, cb := dial(t, a), dial(t, b)
		sb := b.socket(t, cb)
		sb.Join("room")
		sb.SetData(map[string]any{"user": "bob"})
		a.socket(t, ca).Join("room")

		socks, err := a.srv.In("room").FetchSockets()
		if err != nil {
			t.Fatal(err)
		}
		if len(socks) != 2 {
			t.Fatalf("%d sockets", len(socks))
		}
		var remote *sio.RemoteSocket
		for _, s := range socks {
			if s.ID == cb.sid {
				remote = s
			}
		}
		if remote == nil || remote.Local != nil {
			t.Fatalf("remote socket not found: %+v", socks)
		}
		if !slices.Contains(remote.Rooms, "room") || !slices.Contains(remote.Rooms, cb.sid) {
			t.Errorf("rooms %v", remote.Rooms)
		}
		if string(remote.Data.(json.RawMessage)) != `{"user":"bob"}` {
			t.Errorf("data %s", remote.Data)
		}
		if remote.Handshake == nil || remote.Handshake.Query.Get("transport") != "websocket" || remote.Handshake.Address != "127.0.0.1" {
			t.Errorf("handshake %+v", remote.Handshake)
		}
		if _, err := a.srv.Local().FetchSockets(); err != nil {
			t.Fatal(err)
		}
		local, _ := a.srv.Local().FetchSockets()
		if len(local) != 1 {
			t.Errorf("Local().FetchSockets: %d", len(local))
		}

		if err := remote.Emit("hi", "there"); err != nil {
			t.Fatal(err)
		}
		cb.expect(`2["hi","there"]`)
		remote.Join("extra")
		waitFor(t, "remote join", func() bool { return slices.Contains(sb.Rooms(), "extra") })
		remote.Leave("room")
		waitFor(t, "remote leave", func() bool { return !slices.Contains(sb.Rooms(), "room") })
		cb.ackReply = `["pong"]`
		res, err := remote.Timeout(3*time.Second).EmitWithAck(context.Background(), "ping")
		if err != nil || len(res) != 1 || res[0].String() != `"pong"` {
			t.Fatalf("remote ack: %v %v", res, err)
		}
		cb.expectPrefix(`2`) // the ping itself
		remote.Disconnect(false)
		cb.expect("1")
	})
}

func TestSocketsJoinLeaveDisconnect(t *testing.T) {
	forModes(t, func(t *testing.T, opts Options) {
		_, ns := cluster(t, 2, opts)
		a, b := ns[0], ns[1]
		ca, cb := dial(t, a), dial(t, b)
		sa, sb := a.socket(t, ca), b.socket(t, cb)
		a.srv.SocketsJoin("everyone")
		waitFor(t, "join everywhere", func() bool {
			return slices.Contains(sa.Rooms(), "everyone") && slices.Contains(sb.Rooms(), "everyone")
		})
		// the local part is applied at once
		a.srv.SocketsJoin("now")
		if !slices.Contains(sa.Rooms(), "now") {
			t.Error("local join was not immediate")
		}
		b.srv.In("everyone").SocketsLeave("everyone")
		waitFor(t, "leave everywhere", func() bool {
			return !slices.Contains(sa.Rooms(), "everyone") && !slices.Contains(sb.Rooms(), "everyone")
		})
		rooms, err := a.srv.Sockets().AllRooms()
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{ca.sid, cb.sid, "now"} {
			if !slices.Contains(rooms, want) {
				t.Errorf("AllRooms %v lacks %q", rooms, want)
			}
		}
		ids, err := a.srv.Sockets().AllSockets()
		sort.Strings(ids)
		want := []string{ca.sid, cb.sid}
		sort.Strings(want)
		if err != nil || !slices.Equal(ids, want) {
			t.Errorf("AllSockets %v %v", ids, err)
		}
		if ids, _ := a.srv.Local().In(cb.sid).AllSockets(); len(ids) != 0 {
			t.Errorf("Local AllSockets %v", ids)
		}
		a.srv.In(cb.sid).DisconnectSockets(true)
		cb.waitClosed()
		ca.expectNothing(50 * time.Millisecond)
	})
}

func TestServerSideEmit(t *testing.T) {
	forModes(t, func(t *testing.T, opts Options) {
		opts.RequestsTimeout = time.Second
		_, ns := cluster(t, 3, opts)
		got := make(chan string, 10)
		for i, n := range ns {
			i := i
			n.srv.Sockets().OnServerSideEmit("hello", func(args sio.Args, ack sio.Ack) {
				s, _ := sio.Arg[string](args, 0)
				got <- s
				if ack != nil {
					_ = ack("node" + itoa(i))
				}
			})
		}
		if err := ns[0].srv.ServerSideEmit("hello", "plain"); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			select {
			case s := <-got:
				if s != "plain" {
					t.Fatal(s)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("server-side emit lost")
			}
		}
		res, err := ns[1].srv.ServerSideEmitWithAck(context.Background(), "hello", "acked")
		if err != nil {
			t.Fatal(err)
		}
		var answers []string
		for _, r := range res {
			answers = append(answers, r[0].String())
		}
		sort.Strings(answers)
		if !slices.Equal(answers, []string{`"node0"`, `"node2"`}) {
			t.Fatalf("answers %v", answers)
		}
		// a node that does not answer: a timeout error, with what came
		ns[2].srv.Sockets().OnServerSideEmit("quiet", func(sio.Args, sio.Ack) {})
		ns[1].srv.Sockets().OnServerSideEmit("quiet", func(_ sio.Args, ack sio.Ack) { _ = ack(1) })
		start := time.Now()
		res, err = ns[0].srv.ServerSideEmitWithAck(context.Background(), "quiet")
		var te *TimeoutError
		if !errors.As(err, &te) || !errors.Is(err, sio.ErrAckTimeout) || len(res) != 1 || te.Answered != 1 || te.Expected != 2 {
			t.Fatalf("%v %v", res, err)
		}
		if d := time.Since(start); d < 900*time.Millisecond {
			t.Fatalf("timed out after %v", d)
		}
	})
}

// A broadcast with acknowledgements collects every client's answer on
// every node.
func TestBroadcastWithAck(t *testing.T) {
	forModes(t, func(t *testing.T, opts Options) {
		_, ns := cluster(t, 2, opts)
		a, b := ns[0], ns[1]
		ca, cb1, cb2 := dial(t, a), dial(t, b), dial(t, b)
		ca.ackReply, cb1.ackReply, cb2.ackReply = `["a"]`, `["b1",2]`, `[{"b":[1]}]`
		a.socket(t, ca)
		b.socket(t, cb1)
		b.socket(t, cb2)
		res, err := a.srv.Timeout(3*time.Second).EmitWithAck(context.Background(), "question", "?")
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range res {
			got = append(got, r[0].String())
		}
		sort.Strings(got)
		if !slices.Equal(got, []string{`"a"`, `"b1"`, `{"b":[1]}`}) {
			t.Fatalf("responses %v", got)
		}
		// binary answers cross as binary
		cb1.ackBin = []byte{7, 8, 9}
		res, err = a.srv.To(cb1.sid).Timeout(3*time.Second).EmitWithAck(context.Background(), "q2")
		if err != nil || len(res) != 1 || len(res[0]) != 1 || string(res[0][0].Bytes()) != "\x07\x08\x09" {
			t.Fatalf("binary ack: %v %v", res, err)
		}
		// a client that does not answer: the timeout, with the answers that came
		cb2.ackReply = ""
		cb2.ackBin = nil
		res, err = a.srv.Timeout(500*time.Millisecond).EmitWithAck(context.Background(), "q3")
		if !errors.Is(err, sio.ErrAckTimeout) || len(res) != 2 {
			t.Fatalf("timeout: %d responses, %v", len(res), err)
		}
	})
}

var _ = strings.Contains

// Answers on the requester's own response channel (a node with
// PublishOnSpecificResponseChannel) reach it, whatever the others use.
func TestSpecificResponseChannel(t *testing.T) {
	rs := redistest.Start(t)
	a := startNode(t, rs.URL(), Options{PublishOnSpecificResponseChannel: true})
	b := startNode(t, rs.URL(), Options{})
	ca, cb := dial(t, a), dial(t, b)
	a.socket(t, ca)
	b.socket(t, cb)
	waitFor(t, "two nodes", func() bool { n, _ := a.srv.Sockets().Adapter().ServerCount(); return n == 2 })
	for _, n := range []*node{a, b} {
		socks, err := n.srv.FetchSockets()
		if err != nil || len(socks) != 2 {
			t.Fatalf("%d sockets, %v", len(socks), err)
		}
		rooms, err := n.srv.Sockets().AllRooms()
		if err != nil || len(rooms) != 2 {
			t.Fatalf("rooms %v, %v", rooms, err)
		}
	}
}
