package redisadapter

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fanio/fanio/internal/redistest"
	"github.com/fanio/fanio/sio"
)

var httpClient = &http.Client{Timeout: 15 * time.Second}

func httpDo(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (n *node) base() string { return "http://" + n.srv.Addr().String() + "/socket.io/" }

// pollOpen opens an Engine.IO polling session on n and returns its sid.
func pollOpen(t *testing.T, n *node) string {
	t.Helper()
	code, body := httpDo(t, "GET", n.base()+"?EIO=4&transport=polling", "")
	var op struct{ SID string }
	if code != 200 || !strings.HasPrefix(body, "0") || json.Unmarshal([]byte(body[1:]), &op) != nil {
		t.Fatalf("handshake: %d %q", code, body)
	}
	return op.SID
}

// A Socket.IO session opened on one node is served through the other: the
// sio server joined its adapter's link by itself, the session id names its
// node, and the CONNECT, an event with its ack and the answer all go
// through the node that did not open it.
func TestLinkServesOtherNodesSessions(t *testing.T) {
	_, nodes := cluster(t, 2, Options{TakeoverWindow: -1})
	a, b := nodes[0], nodes[1]
	a.srv.OnConnection(func(s *sio.Socket) {
		s.On("hello", func(s *sio.Socket, args sio.Args, ack sio.Ack) {
			name, _ := sio.Arg[string](args, 0)
			_ = ack("hi " + name)
		})
	})
	la, lb := a.rc.Stats().Link, b.rc.Stats().Link
	if len(la.NodeID) != 4 || la.NodeID == lb.NodeID || la.Addr == "" {
		t.Fatalf("links %+v %+v", la, lb)
	}
	sid := pollOpen(t, a)
	if !strings.HasPrefix(sid, la.NodeID) {
		t.Fatalf("sid %q is not node %q's", sid, la.NodeID)
	}
	u := b.base() + "?EIO=4&transport=polling&sid=" + sid
	if code, body := httpDo(t, "POST", u, "40"); code != 200 || body != "ok" {
		t.Fatalf("CONNECT through B: %d %q", code, body)
	}
	if code, body := httpDo(t, "GET", u, ""); code != 200 || !strings.HasPrefix(body, `40{"sid":"`) {
		t.Fatalf("CONNECT answer through B: %d %q", code, body)
	}
	if code, _ := httpDo(t, "POST", u, `421["hello","you"]`); code != 200 {
		t.Fatalf("event through B: %d", code)
	}
	if code, body := httpDo(t, "GET", u, ""); code != 200 || body != `431["hi you"]` {
		t.Fatalf("ack through B: %d %q", code, body)
	}
	sa, sb := a.srv.Engine().ClusterStats(), b.srv.Engine().ClusterStats()
	if sb.Forwarded != 4 || sa.Served != 4 || sb.ForwardFailures != 0 {
		t.Errorf("stats A %+v B %+v", sa, sb)
	}
	if st := b.rc.Stats().Link; st.Peers != 1 || st.Sent < 4 {
		t.Errorf("B's link %+v", st)
	}
	if st := a.rc.Stats().Link; st.Sent < 4 {
		t.Errorf("A's link %+v", st)
	}
}

// A node that left (its Client closed, its registration gone): requests
// for its sessions get 400 "Session ID unknown" at once, counted.
func TestLinkNodeGone(t *testing.T) {
	_, nodes := cluster(t, 2, Options{TakeoverWindow: -1})
	a, b := nodes[0], nodes[1]
	sid := pollOpen(t, a)
	u := b.base() + "?EIO=4&transport=polling&sid=" + sid
	if code, _ := httpDo(t, "POST", u, "40"); code != 200 {
		t.Fatal("CONNECT through B")
	}
	a.stop()
	start := time.Now()
	if code, body := httpDo(t, "GET", u, ""); code != 400 || body != `{"code":1,"message":"Session ID unknown"}` {
		t.Fatalf("after A left: %d %q", code, body)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	if st := b.srv.Engine().ClusterStats(); st.ForwardFailures != 1 || st.Waiting != 0 {
		t.Errorf("B's stats %+v", st)
	}
}

// A node killed without a goodbye (its listener and connections gone, its
// registration still in Redis): a held poll forwarded to it ends with 400
// as soon as its connection breaks, the next request as soon as the dial
// is refused.
func TestLinkNodeKilled(t *testing.T) {
	_, nodes := cluster(t, 2, Options{TakeoverWindow: -1})
	a, b := nodes[0], nodes[1]
	sid := pollOpen(t, a)
	u := b.base() + "?EIO=4&transport=polling&sid=" + sid
	held := make(chan string, 1)
	go func() {
		resp, err := httpClient.Get(u)
		if err != nil {
			held <- err.Error()
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		held <- fmt.Sprintf("%d %s", resp.StatusCode, body)
	}()
	waitFor(t, "the poll to be held on A", func() bool { return a.srv.Engine().ClusterStats().Served == 1 })
	// Kill A's side of the link only: its listener and connections.
	l := a.rc.link
	l.ln.Close()
	l.mu.Lock()
	for ac := range l.accepted {
		ac.close()
	}
	l.mu.Unlock()
	select {
	case r := <-held:
		if r != `400 {"code":1,"message":"Session ID unknown"}` {
			t.Fatalf("held poll: %q", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the held poll did not end")
	}
	waitFor(t, "B to drop its connection to A", func() bool { return b.rc.Stats().Link.Peers == 0 })
	if code, body := httpDo(t, "GET", u, ""); code != 400 || !strings.Contains(body, "Session ID unknown") {
		t.Fatalf("after A was killed: %d %q", code, body)
	}
	if st := b.rc.Stats().Link; st.DialFailures == 0 {
		t.Errorf("B's link %+v", st)
	}
}

// The link refuses a connection that does not know the cluster's secret,
// and one for another node; garbage is dropped.
func TestLinkAuthentication(t *testing.T) {
	_, nodes := cluster(t, 1, Options{})
	l := nodes[0].rc.link
	try := func(from, to string, secret []byte) byte {
		t.Helper()
		conn, err := net.Dial("tcp", l.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		hello := make([]byte, len(linkMagic)+nonceLen)
		if _, err := io.ReadFull(conn, hello); err != nil {
			t.Fatal(err)
		}
		msg := append([]byte(linkMagic), from+to...)
		msg = append(msg, linkMAC(secret, hello[len(linkMagic):], from, to)...)
		if _, err := conn.Write(msg); err != nil {
			t.Fatal(err)
		}
		var st [1]byte
		if _, err := io.ReadFull(conn, st[:]); err != nil {
			t.Fatal(err)
		}
		return st[0]
	}
	secret, err := l.loadSecret(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	if got := try("ZZZZ", l.node, []byte("wrong")); got != linkBadAuth {
		t.Errorf("wrong secret: %d", got)
	}
	if got := try("ZZZZ", "YYYY", secret); got != linkWrongNode {
		t.Errorf("wrong node: %d", got)
	}
	if got := try("ZZZZ", l.node, secret); got != linkOK {
		t.Errorf("right secret: %d", got)
	}
	if n := nodes[0].rc.Stats().Link.AuthFailures; n != 1 {
		t.Errorf("AuthFailures %d", n)
	}
	conn, err := net.Dial("tcp", l.addr)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n" + strings.Repeat("x", 100)))
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = io.ReadAll(conn) // the hello, then the close (EOF or a reset)
	conn.Close()
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Errorf("garbage: the link kept the connection open")
	}
}

// With NoForwarding there is no link: no listener, no registration, and a
// request for another node's session gets 400 as with Node.
func TestLinkNoForwarding(t *testing.T) {
	rs, nodes := cluster(t, 2, Options{NoForwarding: true})
	a, b := nodes[0], nodes[1]
	if a.rc.EngineCluster() != nil || a.rc.Stats().Link.NodeID != "" {
		t.Fatal("a link with NoForwarding")
	}
	if keys, err := rs.Do("KEYS", "socket.io-node#*"); err != nil || len(keys.([]any)) != 0 {
		t.Fatalf("registrations: %v %v", keys, err)
	}
	sid := pollOpen(t, a)
	if code, body := httpDo(t, "GET", b.base()+"?EIO=4&transport=polling&sid="+sid, ""); code != 400 || !strings.Contains(body, "Session ID unknown") {
		t.Fatalf("%d %q", code, body)
	}
}

// Each node registers its address under <key>-node#<id> with a TTL, and
// removes it when it closes.
func TestLinkRegistration(t *testing.T) {
	rs := redistest.Start(t)
	n := startNode(t, rs.URL(), Options{Key: "app"})
	st := n.rc.Stats().Link
	v, err := rs.Do("GET", "app-node#"+st.NodeID)
	if err != nil || v != st.Addr {
		t.Fatalf("registration %v %v, want %q", v, err, st.Addr)
	}
	if ttl, err := rs.Int("PTTL", "app-node#"+st.NodeID); err != nil || ttl <= 0 || ttl > registerTTL.Milliseconds() {
		t.Fatalf("TTL %d %v", ttl, err)
	}
	n.stop()
	if v, err := rs.Do("GET", "app-node#"+st.NodeID); err != nil || v != nil {
		t.Fatalf("after Close: %v %v", v, err)
	}
}
