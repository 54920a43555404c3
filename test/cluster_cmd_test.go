package integration

import (
	"bytes"
	"context"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// cmd/fanio -redis beside a Node.js node on the same Redis: one cluster.
// The hub's rooms span both: an HTTP publish to cmd/fanio and a client's
// publish reach the Node node's sockets, and the Node node's broadcasts
// reach cmd/fanio's.
func TestClusterFanioCommand(t *testing.T) {
	cases := []struct {
		name, mode string
		env, args  []string
		nodeArgs   []string
	}{
		{"classic-env", "classic", nil, nil, nil},
		{"sharded-flags", "sharded", nil, []string{"-redis-sharded", "-redis-key", "myapp"}, []string{"--key", "myapp"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rs := startRedis(t)
			env, args := c.env, c.args
			if c.mode == "classic" {
				env = append(env, "FANIO_REDIS_URL="+rs.URL())
			} else {
				args = append(args, "-redis", rs.URL())
			}
			bin := goBuild(t, repoRoot(), "./cmd/fanio")
			f := startProc(t, regexp.MustCompile(`msg=listening addr=(127\.0\.0\.1:\d+)`), env, bin,
				append([]string{"-addr", "127.0.0.1:0", "-log-level", "debug"}, args...)...)
			defer f.stop(t)
			if !strings.Contains(f.out.String(), "msg=cluster") {
				t.Errorf("no cluster line in the log")
			}
			e := &clusterEnv{mode: c.mode, redis: rs, sids: map[string]string{}, target: map[string]string{}}
			e.nodeJS = startRPC(t, "node server", "cluster/server.mjs", append([]string{"--redis", rs.URL(), "--mode", c.mode}, c.nodeArgs...)...)
			e.clients = startRPC(t, "clients", "cluster/clients.mjs")
			e.fanio = nil
			for _, cl := range []struct{ name, url, transport string }{
				{"n", "http://127.0.0.1:" + strconv.Itoa(e.nodeJS.port), "websocket"},
				{"f", "http://" + f.addr, "polling"},
			} {
				var sid string
				e.clients.must(t, "connect", map[string]any{"name": cl.name, "url": cl.url, "transport": cl.transport}, &sid)
				e.sids[cl.name] = sid
			}
			e.join(t, "n", "news")
			e.join(t, "f", "news")
			var n int
			waitUntil(t, "the Node node to count cmd/fanio", func() bool {
				_ = e.nodeJS.call("serverCount", nil, &n)
				return n == 2
			})
			time.Sleep(100 * time.Millisecond)

			res, err := http.Post("http://"+f.addr+"/api/publish", "application/json",
				bytes.NewReader([]byte(`{"room":"news","event":"headline","data":{"title":"hi"}}`)))
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 200 {
				t.Fatalf("publish: %s", res.Status)
			}
			h := ev("headline", map[string]any{"title": "hi"})
			e.expectEvents(t, map[string][]any{"n": {h}, "f": {h}})

			var count any
			e.clients.must(t, "emit", map[string]any{"name": "f", "event": "publish", "args": []any{"news", "chat", "from f"}, "ack": true}, &count)
			e.nodeJS.must(t, "emit", map[string]any{"rooms": []string{"news"}, "event": "chat", "args": []any{"from node"}}, nil)
			e.expectEvents(t, map[string][]any{"n": {ev("chat", "from f"), ev("chat", "from node")}, "f": {ev("chat", "from node")}})
		})
	}
}

// Redis unreachable at start: cmd/fanio exits at once with a clear error.
func TestClusterFanioCommandRedisDown(t *testing.T) {
	rs := startRedis(t)
	url := rs.URL()
	rs.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBuild(t, repoRoot(), "./cmd/fanio"), "-addr", "127.0.0.1:0", "-redis", url)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("fanio ran with Redis down:\n%s", out)
	}
	if !strings.Contains(string(out), "cannot connect to Redis at "+url) {
		t.Errorf("unclear error:\n%s", out)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("took %v to give up", d)
	}
}
