package metrics_test

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fanio/fanio/engine"
	"github.com/fanio/fanio/internal/siotest"
	"github.com/fanio/fanio/metrics"
	"github.com/fanio/fanio/sio"
)

// scrape fetches h and returns the samples by series ("name{labels}"),
// checking the text format as it goes: a # HELP and # TYPE before each
// family's samples, no family twice, well-formed sample lines.
func scrape(t *testing.T, h http.Handler, gz bool) map[string]float64 {
	t.Helper()
	req := httptest.NewRequest("GET", "/metrics", nil)
	if gz {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != metrics.ContentType {
		t.Fatalf("scrape: %d %v", rec.Code, rec.Header())
	}
	var body io.Reader = rec.Body
	if gz {
		if rec.Header().Get("Content-Encoding") != "gzip" {
			t.Fatal("gzip accepted but not used")
		}
		zr, err := gzip.NewReader(rec.Body)
		if err != nil {
			t.Fatal(err)
		}
		body = zr
	}
	line := regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$`)
	out := map[string]float64{}
	typed := map[string]bool{}
	seen := map[string]bool{}
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "# TYPE ") {
			name := strings.Fields(l)[2]
			if typed[name] {
				t.Fatalf("family %s declared twice", name)
			}
			typed[name] = true
			continue
		}
		if strings.HasPrefix(l, "#") || l == "" {
			continue
		}
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("malformed line %q", l)
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatalf("value of %q: %v", l, err)
		}
		if seen[m[1]+m[2]] {
			t.Fatalf("series %s twice", m[1]+m[2])
		}
		seen[m[1]+m[2]] = true
		if strings.HasPrefix(m[1], "fanio_") {
			base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m[1], "_bucket"), "_sum"), "_count")
			if !typed[m[1]] && !typed[base] {
				t.Fatalf("sample %s before its # TYPE", m[1])
			}
		}
		out[m[1]+m[2]] = v
	}
	return out
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The figures of a scrape follow real traffic over WebSockets.
func TestScrapeFollowsTraffic(t *testing.T) {
	srv := sio.NewServer(sio.Options{PingInterval: time.Minute, PingTimeout: time.Minute})
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	srv.OnConnection(func(s *sio.Socket) {
		s.Join("room")
		s.On("echo", func(s *sio.Socket, args sio.Args, ack sio.Ack) {
			if ack != nil {
				_ = ack(args.Any()...)
			}
		})
	})
	srv.Of(`/we"ird`)
	h := metrics.Handler(srv, metrics.Options{})
	const n = 5
	clients := make([]*siotest.Client, n)
	for i := range clients {
		clients[i] = siotest.Dial(t, srv.Addr().String())
		clients[i].Connect("/", "")
	}
	clients[0].Send(`21["echo","hello"]`)
	clients[0].Expect(`31["hello"]`)
	for i := 0; i < 3; i++ {
		if err := srv.To("room").Emit("tick", i); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range clients {
		for i := 0; i < 3; i++ {
			c.Expect(`2["tick",` + strconv.Itoa(i) + `]`)
		}
	}
	m := scrape(t, h, false)
	want := map[string]float64{
		`fanio_engine_sessions{transport="websocket"}`:                  n,
		`fanio_engine_sessions{transport="polling"}`:                    0,
		`fanio_sockets{namespace="/"}`:                                  n,
		`fanio_sockets{namespace="/we\"ird"}`:                           0,
		`fanio_rooms{namespace="/"}`:                                    1,
		`fanio_connects_total{namespace="/"}`:                           n,
		`fanio_broadcasts_total`:                                        3,
		`fanio_deliveries_total`:                                        3 * n,
		`fanio_packets_received_total`:                                  n + 1,       // n CONNECTs and the echo
		`fanio_packets_sent_total`:                                      n + 1 + 3*n, // n CONNECT answers, the ack, the ticks
		`fanio_acks_pending`:                                            0,
		`fanio_handler_duration_seconds_count{kind="event"}`:            1,
		`fanio_handler_duration_seconds_bucket{kind="event",le="+Inf"}`: 1,
		`fanio_handler_duration_seconds_count{kind="connect"}`:          n,
		`fanio_handshakes_refused_total{reason="unknown_sid"}`:          0,
		`fanio_handshakes_refused_total{reason="middleware"}`:           0,
		`fanio_disconnects_total{reason="transport close"}`:             0,
	}
	for k, v := range want {
		if got, ok := m[k]; !ok || got != v {
			t.Errorf("%s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	if m[`fanio_bytes_received_total`] < 10 || m[`fanio_bytes_sent_total`] < 50 {
		t.Errorf("bytes %v in, %v out", m[`fanio_bytes_received_total`], m[`fanio_bytes_sent_total`])
	}
	if m["go_goroutines"] <= 0 || m["process_resident_memory_bytes"] <= 0 || m["process_open_fds"] <= 0 {
		t.Errorf("runtime/process metrics missing: goroutines %v rss %v fds %v", m["go_goroutines"], m["process_resident_memory_bytes"], m["process_open_fds"])
	}
	for _, c := range clients {
		c.Close()
	}
	waitFor(t, "disconnects", func() bool {
		return scrape(t, h, true)[`fanio_disconnects_total{reason="transport close"}`] == n
	})
	m = scrape(t, h, true)
	if m[`fanio_sockets{namespace="/"}`] != 0 || m[`fanio_rooms{namespace="/"}`] != 0 || m[`fanio_engine_sessions{transport="websocket"}`] != 0 {
		t.Errorf("after the clients left: %v sockets, %v rooms, %v sessions", m[`fanio_sockets{namespace="/"}`], m[`fanio_rooms{namespace="/"}`], m[`fanio_engine_sessions{transport="websocket"}`])
	}
	if m[`fanio_engine_closes_total{reason="transport close"}`] != n {
		t.Errorf("engine closes %v", m[`fanio_engine_closes_total{reason="transport close"}`])
	}
}

// Refused requests are published by reason; NoProcessMetrics leaves the
// runtime out; only GET and HEAD are served.
func TestScrapeRefusalsAndOptions(t *testing.T) {
	srv := sio.NewServer(sio.Options{})
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	base := "http://" + srv.Addr().String() + "/socket.io/?EIO=4&transport=polling"
	for _, u := range []string{base + "&sid=forged", base[:len(base)-7] + "pigeon"} {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	h := metrics.Handler(srv, metrics.Options{NoProcessMetrics: true})
	m := scrape(t, h, false)
	if m[`fanio_handshakes_refused_total{reason="unknown_sid"}`] != 1 || m[`fanio_handshakes_refused_total{reason="unknown_transport"}`] != 1 {
		t.Errorf("refusals: %v", m)
	}
	for k := range m {
		if strings.HasPrefix(k, "go_") || strings.HasPrefix(k, "process_") {
			t.Fatalf("NoProcessMetrics still serves %s", k)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/metrics", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", rec.Code)
	}
}

// lostCluster is node AAAA of a cluster whose other nodes are gone.
type lostCluster struct{}

func (lostCluster) Join(engine.ClusterInbox) (engine.ClusterConfig, error) {
	return engine.ClusterConfig{NodeID: "AAAA"}, nil
}
func (lostCluster) Send(string, []byte) error { return errors.New("gone") }

// In a cluster, the cluster's families are published: a request for a
// gone node's session is forwarded, fails, and counts as an unknown sid.
func TestScrapeCluster(t *testing.T) {
	srv := sio.NewServer(sio.Options{})
	if err := srv.Engine().SetCluster(lostCluster{}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	resp, err := http.Get("http://" + srv.Addr().String() + "/socket.io/?EIO=4&transport=polling&sid=BBBBxxxxxxxxxxxxxxxx")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	m := scrape(t, metrics.Handler(srv, metrics.Options{NoProcessMetrics: true}), false)
	if m["fanio_cluster_forwarded_total"] != 1 || m["fanio_cluster_forward_failures_total"] != 1 ||
		m[`fanio_handshakes_refused_total{reason="unknown_sid"}`] != 1 || m["fanio_cluster_waiting"] != 0 {
		t.Errorf("cluster families: %v", m)
	}
	plain := sio.NewServer(sio.Options{})
	for k := range scrape(t, metrics.Handler(plain, metrics.Options{NoProcessMetrics: true}), false) {
		if strings.HasPrefix(k, "fanio_cluster_") {
			t.Fatalf("a server in no cluster publishes %s", k)
		}
	}
}
