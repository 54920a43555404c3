package integration

import (
	"context"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/fanio/fanio/redisadapter"
)

// Two fanio nodes together, official clients on each.
func TestClusterTwoFanio(t *testing.T) {
	for _, mode := range []string{"classic", "sharded"} {
		t.Run(mode, func(t *testing.T) {
			rs := startRedis(t)
			opts := redisadapter.Options{Sharded: mode == "sharded"}
			a, b := startFanioNode(t, rs.URL(), opts), startFanioNode(t, rs.URL(), opts)
			e := &clusterEnv{mode: mode, redis: rs, fanio: a, sids: map[string]string{}, target: map[string]string{}}
			e.clients = startRPC(t, "clients", "cluster/clients.mjs")
			e.connect(t, "ap", "fanio", "polling")
			e.fanio = b
			e.connect(t, "bw", "fanio", "websocket")
			waitUntil(t, "both nodes counted", func() bool {
				n, _ := a.srv.Sockets().Adapter().ServerCount()
				m, _ := b.srv.Sockets().Adapter().ServerCount()
				return n == 2 && m == 2
			})
			e.join(t, "ap", "r")
			e.join(t, "bw", "r")
			time.Sleep(100 * time.Millisecond)
			if err := a.srv.To("r").Emit("x", []byte{1}, "s"); err != nil {
				t.Fatal(err)
			}
			if err := b.srv.Except(e.sids["bw"]).Emit("y"); err != nil {
				t.Fatal(err)
			}
			x := ev("x", bin([]byte{1}), "s")
			e.expectEvents(t, map[string][]any{"ap": {x, ev("y")}, "bw": {x}})

			socks, err := a.srv.FetchSockets()
			if err != nil || len(socks) != 2 {
				t.Fatalf("fetch: %v %v", socks, err)
			}
			res, err := b.srv.Timeout(5*time.Second).EmitWithAck(context.Background(), "ask")
			var got []string
			for _, r := range res {
				got = append(got, r[0].String())
			}
			sort.Strings(got)
			if err != nil || !slices.Equal(got, []string{`"ack:ap"`, `"ack:bw"`}) {
				t.Fatalf("acks %v %v", got, err)
			}
			acks, err := a.srv.ServerSideEmitWithAck(context.Background(), "sse", "q")
			if err != nil || len(acks) != 1 || acks[0][0].String() != `"fanio:q"` {
				t.Fatalf("server-side acks %v %v", acks, err)
			}
		})
	}
}

// Redis killed mid-stream and started again on the same port: local
// delivery goes on, publishes fail with an error, requests end with an
// error instead of hanging, and once Redis is back both nodes resubscribe
// by themselves and the stream crosses again, each way.
func TestClusterRedisRestart(t *testing.T) {
	for _, mode := range []string{"classic", "sharded"} {
		t.Run(mode, func(t *testing.T) {
			rs := startRedis(t)
			e := &clusterEnv{mode: mode, redis: rs, sids: map[string]string{}, target: map[string]string{}}
			e.nodeJS = startRPC(t, "node server", "cluster/server.mjs", "--redis", rs.URL(), "--mode", mode)
			e.fanio = startFanioNode(t, rs.URL(), redisadapter.Options{Sharded: mode == "sharded", PublishTimeout: time.Second})
			e.clients = startRPC(t, "clients", "cluster/clients.mjs")
			e.connect(t, "nw", "node", "websocket")
			e.connect(t, "fw", "fanio", "websocket")
			f := e.fanio.srv
			if err := f.Emit("before"); err != nil {
				t.Fatal(err)
			}
			e.expectEvents(t, map[string][]any{"nw": {ev("before")}, "fw": {ev("before")}})

			rs.Kill()
			var pubErr error
			for i := 0; i < 50 && pubErr == nil; i++ {
				pubErr = f.Emit("during", i)
				time.Sleep(20 * time.Millisecond)
			}
			if pubErr == nil {
				t.Fatal("publishing with Redis down kept succeeding")
			}
			t.Logf("publish with Redis down: %v", pubErr)
			e.clients.must(t, "wait", map[string]any{"name": "fw", "event": "during"}, nil) // local delivery goes on
			start := time.Now()
			if _, err := f.FetchSockets(); err == nil {
				t.Error("FetchSockets succeeded with Redis down")
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("FetchSockets took %v to fail", d)
			}
			if st := e.fanio.rc.Stats(); st.PublishErrors == 0 {
				t.Errorf("stats: %+v", st)
			}

			if err := rs.Restart(); err != nil {
				t.Fatal(err)
			}
			e.clients.must(t, "take", map[string]any{"name": "nw"}, nil)
			deadline := time.Now().Add(20 * time.Second)
			for done := false; !done; {
				if time.Now().After(deadline) {
					t.Fatalf("the stream did not come back within 20 s (fanio stats %+v)", e.fanio.rc.Stats())
				}
				_ = f.Emit("after-f")
				_ = e.nodeJS.call("emit", map[string]any{"event": "after-n"}, nil)
				time.Sleep(100 * time.Millisecond)
				var nw, fw []any
				e.clients.must(t, "take", map[string]any{"name": "nw"}, &nw)
				e.clients.must(t, "take", map[string]any{"name": "fw"}, &fw)
				done = slices.ContainsFunc(nw, func(x any) bool { return x.([]any)[0] == "after-f" }) &&
					slices.ContainsFunc(fw, func(x any) bool { return x.([]any)[0] == "after-n" })
			}
			st := e.fanio.rc.Stats()
			if st.Reconnects == 0 || !st.Connected {
				t.Errorf("stats after the restart: %+v", st)
			}
			waitUntil(t, "both nodes counted again", func() bool {
				n, err := f.Sockets().Adapter().ServerCount()
				return err == nil && n == 2
			})
			res, err := f.Timeout(5*time.Second).EmitWithAck(context.Background(), "ask")
			if err != nil || len(res) != 2 {
				t.Errorf("acks after the restart: %v %v", res, err)
			}
		})
	}
}
