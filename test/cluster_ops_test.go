package integration

import (
	"encoding/json"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fanio/fanio/internal/siotest"
)

var opsListeningRE = regexp.MustCompile(`msg="metrics and health listening" addr=(127\.0\.0\.1:\d+)`)

// waitHTTP polls url until its status is want and body contains part.
func waitHTTP(t *testing.T, url string, want int, part string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, body := opsGet(t, url)
		if code == want && strings.Contains(body, part) {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d %q, want %d with %q", url, code, body, want, part)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// cmd/fanio in a cluster: /readyz and the adapter's metrics follow Redis
// — ready while connected, 503 ("adapter":"disconnected") once Redis is
// gone, ready again when it is back (a reconnect counted), not ready
// while draining on SIGTERM.
func TestFanioReadinessAcrossRedisLoss(t *testing.T) {
	if backend() == backendReference {
		t.Skip("cmd/fanio has no reference counterpart")
	}
	rs := startRedis(t)
	bin := goBuild(t, repoRoot(), "./cmd/fanio")
	p := startProc(t, listeningRE, nil, bin, "-addr", "127.0.0.1:0", "-redis", rs.URL(),
		"-metrics-addr", "127.0.0.1:0", "-shutdown-delay", "2s")
	m := opsListeningRE.FindStringSubmatch(p.out.String())
	if m == nil {
		t.Fatalf("no ops listener in the log:\n%s", p.out.String())
	}
	ops := "http://" + m[1]
	waitHTTP(t, ops+"/readyz", 200, `"adapter":"connected"`)
	waitHTTP(t, ops+"/metrics", 200, "fanio_adapter_connected 1")

	rs.Kill()
	waitHTTP(t, ops+"/readyz", 503, `"adapter":"disconnected"`)
	waitHTTP(t, ops+"/metrics", 200, "fanio_adapter_connected 0")
	if code, _ := opsGet(t, ops+"/healthz"); code != 200 {
		t.Fatalf("healthz with Redis down: %d", code)
	}

	if err := rs.Restart(); err != nil {
		t.Fatal(err)
	}
	waitHTTP(t, ops+"/readyz", 200, `"ready":true`)
	body := waitHTTP(t, ops+"/metrics", 200, "fanio_adapter_connected 1")
	if !regexp.MustCompile(`fanio_adapter_reconnects_total [1-9]`).MatchString(body) {
		t.Errorf("no reconnect counted:\n%s", body)
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitHTTP(t, ops+"/readyz", 503, `"draining":true`)
	select {
	case err := <-p.done:
		p.done <- err
	case <-time.After(20 * time.Second):
		t.Fatal("fanio did not exit")
	}
}

// With -redis, the admin UI's session ids live in Redis (the reference's
// RedisStore keys): a UI that logged in on node A is let in by node B with
// its session id alone.
func TestAdminSessionsAcrossCluster(t *testing.T) {
	if backend() == backendReference {
		t.Skip("cmd/fanio has no reference counterpart")
	}
	rs := startRedis(t)
	bin := goBuild(t, repoRoot(), "./cmd/fanio")
	node := func() *proc {
		return startProc(t, listeningRE, nil, bin, "-addr", "127.0.0.1:0", "-redis", rs.URL(),
			"-admin-user", "admin", "-admin-password-hash", adminHash, "-admin-mode", "production")
	}
	a, b := node(), node()
	ca := siotest.Dial(t, a.addr)
	ca.Wait = 20 * time.Second
	ca.Send(`0/admin,{"username":"admin","password":"changeit"}`)
	var session string
	for session == "" {
		if name, args := adminEvent(t, ca.Next().Text); name == "session" {
			_ = json.Unmarshal(args[0], &session)
		}
	}
	if v, err := rs.Do("GET", "socket.io-admin#"+session); err != nil || v != "1" {
		t.Fatalf("the session is not in Redis as the reference stores it: %v %v", v, err)
	}
	cb := siotest.Dial(t, b.addr)
	cb.Wait = 20 * time.Second
	cb.Send(`0/admin,{"sessionId":"` + session + `"}`)
	if m := cb.Next(); !strings.HasPrefix(m.Text, `0/admin,{"sid":"`) {
		t.Fatalf("node B refused node A's session: %v", m)
	}
	cc := siotest.Dial(t, b.addr)
	cc.Send(`0/admin,{"sessionId":"0123456789abcdef"}`)
	cc.Expect(`4/admin,{"message":"invalid credentials"}`)
}

// The admin UI protocol across a cluster: an admin on node A sees node
// B's sockets (all_sockets through the adapter's FetchSockets), both
// nodes' server_stats, B's sockets' events; its commands act on B's
// sockets.
func TestAdminClusterWide(t *testing.T) {
	if backend() == backendReference {
		t.Skip("cmd/fanio has no reference counterpart")
	}
	rs := startRedis(t)
	bin := goBuild(t, repoRoot(), "./cmd/fanio")
	node := func(id string) *proc {
		return startProc(t, listeningRE, nil, bin, "-addr", "127.0.0.1:0", "-redis", rs.URL(),
			"-admin-no-auth", "-admin-mode", "development", "-admin-server-id", id)
	}
	a, b := node("node-a"), node("node-b")
	_ = a
	user := siotest.Dial(t, b.addr)
	sid := user.Connect("/", "")
	user.Send(`21["join","vip"]`)
	user.ExpectPrefix(`31[[`)

	admin := siotest.Dial(t, a.addr)
	admin.Wait = 20 * time.Second
	admin.Send(`0/admin,`)
	servers := map[string]bool{}
	sawSocket := false
	deadline := time.Now().Add(20 * time.Second)
	for (!sawSocket || len(servers) < 2) && time.Now().Before(deadline) {
		msg := admin.Next()
		name, args := adminEvent(t, msg.Text)
		switch name {
		case "all_sockets":
			var socks []struct {
				ID    string   `json:"id"`
				Nsp   string   `json:"nsp"`
				Rooms []string `json:"rooms"`
			}
			if err := json.Unmarshal(args[0], &socks); err != nil {
				t.Fatal(err)
			}
			for _, s := range socks {
				if s.ID == sid && s.Nsp == "/" && strings.Contains(strings.Join(s.Rooms, ","), "vip") {
					sawSocket = true
				}
			}
			if !sawSocket {
				t.Fatalf("all_sockets on node A lacks node B's socket %s: %s", sid, args[0])
			}
		case "server_stats":
			var st struct {
				ServerID string `json:"serverId"`
			}
			_ = json.Unmarshal(args[0], &st)
			servers[st.ServerID] = true
		}
	}
	if !sawSocket || !servers["node-a"] || !servers["node-b"] {
		t.Fatalf("socket seen %v, servers %v", sawSocket, servers)
	}

	// B's socket's events reach A's admin; A's commands reach B's socket.
	user.Send(`2["hello"]`)
	waitAdmin(t, admin, "event_received", `"hello"`)
	admin.Send(`2/admin,["join","/","lounge","` + sid + `"]`)
	waitAdmin(t, admin, "room_joined", `"lounge"`)
	admin.Send(`2/admin,["_disconnect","/",false,"` + sid + `"]`)
	user.Expect(`1`)
	waitAdmin(t, admin, "socket_disconnected", sid)
	_ = b
	_ = a
}

func adminEvent(t *testing.T, text string) (string, []json.RawMessage) {
	t.Helper()
	const prefix = "2/admin,"
	if !strings.HasPrefix(text, prefix) {
		return "", nil
	}
	var arr []json.RawMessage
	if err := json.Unmarshal([]byte(text[len(prefix):]), &arr); err != nil || len(arr) == 0 {
		return "", nil
	}
	var name string
	_ = json.Unmarshal(arr[0], &name)
	return name, arr[1:]
}

// waitAdmin reads the admin client until an event named name whose
// arguments contain part.
func waitAdmin(t *testing.T, c *siotest.Client, name, part string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		n, args := adminEvent(t, c.Next().Text)
		if n != name {
			continue
		}
		raw, _ := json.Marshal(args)
		if strings.Contains(string(raw), part) {
			return
		}
	}
	t.Fatalf("no %s with %q", name, part)
}
