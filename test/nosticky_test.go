package integration

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// roundRobin is a load balancer that pins nothing: each request (each
// polling GET and POST, each WebSocket upgrade, each API call) goes to the
// next upstream in turn, on a new connection (no keep-alive to the
// upstreams), whatever client or session it belongs to. WebSocket upgrades
// are proxied (httputil.ReverseProxy splices them).
type roundRobin struct {
	upstreams []*url.URL
	next      atomic.Uint64
	srv       *http.Server
	addr      string

	mu       sync.Mutex
	requests []int            // per upstream
	sids     map[string]uint8 // upstreams (bits) that served each session's requests
	errors   []string
}

func startRoundRobin(t *testing.T, upstreams ...string) *roundRobin {
	t.Helper()
	lb := &roundRobin{requests: make([]int, len(upstreams)), sids: map[string]uint8{}}
	for _, u := range upstreams {
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		lb.upstreams = append(lb.upstreams, pu)
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			i := int(lb.next.Add(1) % uint64(len(lb.upstreams)))
			pr.SetURL(lb.upstreams[i])
			lb.mu.Lock()
			lb.requests[i]++
			if sid := pr.In.URL.Query().Get("sid"); sid != "" {
				lb.sids[sid] |= 1 << i
			}
			lb.mu.Unlock()
		},
		Transport: &http.Transport{DisableKeepAlives: true, DisableCompression: true},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			lb.mu.Lock()
			if !errors.Is(err, context.Canceled) && len(lb.errors) < 20 {
				lb.errors = append(lb.errors, r.Method+" "+r.URL.String()+": "+err.Error())
			}
			lb.mu.Unlock()
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lb.addr = ln.Addr().String()
	lb.srv = &http.Server{Handler: proxy}
	go lb.srv.Serve(ln)
	t.Cleanup(func() { lb.srv.Close() })
	return lb
}

func (lb *roundRobin) URL() string { return "http://" + lb.addr }

// spread returns the requests per upstream, and how many sessions had
// their requests served by more than one upstream.
func (lb *roundRobin) spread() (requests []int, sessions, split int) {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	for _, bits := range lb.sids {
		sessions++
		if bits&(bits-1) != 0 {
			split++
		}
	}
	return append([]int(nil), lb.requests...), sessions, split
}

// Two cmd/fanio nodes on one Redis behind a round-robin balancer with no
// sticky sessions: the official socket.io-client, polling only and with
// the default transports (polling, then the upgrade), exchanges events,
// acknowledgements both ways and room broadcasts for 30 s without an
// error, a lost or a reordered message. The same with two Node.js nodes
// (socket.io 4.8.4 + @socket.io/redis-adapter 8.3.0) fails with "Session ID
// unknown", which shows the balancer really spreads each session's
// requests. All three runs go in parallel.
func TestNoStickySessions(t *testing.T) {
	const soak = 30 * time.Second
	bin := goBuild(t, repoRoot(), "./cmd/fanio")

	rs := startRedis(t)
	var fanio []*proc
	for range 2 {
		f := startProc(t, regexp.MustCompile(`msg=listening addr=(127\.0\.0\.1:\d+)`), nil, bin,
			"-addr", "127.0.0.1:0", "-redis", rs.URL(), "-ping-interval", "3s", "-ping-timeout", "10s")
		if !regexp.MustCompile(`msg=cluster .*forward=true node=\S{4} peer_addr=127\.0\.0\.1:\d+`).MatchString(f.out.String()) {
			t.Fatalf("no cluster line with a node id and peer address:\n%s", f.out.String())
		}
		fanio = append(fanio, f)
	}
	lb := startRoundRobin(t, "http://"+fanio[0].addr, "http://"+fanio[1].addr)

	rsNode := startRedis(t)
	var hubs []string
	for i := range 2 {
		h := startRPC(t, fmt.Sprintf("node hub %d", i), "cluster/hub.mjs", "--redis", rsNode.URL())
		hubs = append(hubs, fmt.Sprintf("http://127.0.0.1:%d", h.port))
	}
	nodeLB := startRoundRobin(t, hubs...)

	type run struct {
		name string
		lb   *roundRobin
		args []string
		res  *ScriptResult
	}
	runs := []*run{
		{name: "fanio polling", lb: lb, args: []string{"--transports", "polling", "--tag", "p"}},
		{name: "fanio default", lb: lb, args: []string{"--transports", "default", "--tag", "d"}},
		{name: "node polling", lb: nodeLB, args: []string{"--transports", "polling", "--duration", "10000"}},
	}
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := append([]string{"--url", r.lb.URL(), "--duration", fmt.Sprint(soak.Milliseconds())}, r.args...)
			r.res = node.RunScript(context.Background(), soak+2*time.Minute, "cluster/nosticky.mjs", args...)
		}()
	}
	wg.Wait()

	for _, r := range runs[:2] {
		res := r.res
		t.Logf("%s through the balancer: %v published, %v acked, %v of %v delivered, %v server acks in %v rounds, %v upgraded, transports %v, errors %v (%.0f s)",
			r.name, res.Result["published"], res.Result["acked"], res.Result["delivered"], res.Result["expected"],
			res.Result["askAcks"], res.Result["askRounds"], res.Result["upgraded"], res.Result["transports"], res.Result["errors"], res.Num("seconds"))
		if !res.OK() {
			t.Errorf("%s failed:\n%s", r.name, res)
		}
		if res.Num("seconds") < soak.Seconds() {
			t.Errorf("%s ran %v s, not %v", r.name, res.Num("seconds"), soak.Seconds())
		}
	}
	if up := runs[1].res.Num("upgraded"); up < 1 {
		t.Errorf("no client of the default transports upgraded to WebSocket through the balancer")
	}
	nr := runs[2].res
	t.Logf("node polling through the balancer (the contrast): ok=%v, %v \"Session ID unknown\" answers, errors %v",
		nr.Result["ok"], nr.Result["sessionUnknown"], nr.Result["errors"])
	if nr.OK() || nr.Num("sessionUnknown") < 1 {
		t.Errorf("the Node.js pair did not fail with Session ID unknown behind the balancer:\n%s", nr)
	}

	for _, b := range []struct {
		name string
		lb   *roundRobin
	}{{"fanio", lb}, {"node", nodeLB}} {
		reqs, sessions, split := b.lb.spread()
		t.Logf("%s balancer: requests per node %v; %d of %d sessions had their requests served by both nodes", b.name, reqs, split, sessions)
		if reqs[0] == 0 || reqs[1] == 0 || split == 0 {
			t.Errorf("%s balancer did not spread the sessions' requests: %v, %d split", b.name, reqs, split)
		}
	}
	lb.mu.Lock()
	lbErrs := lb.errors
	lb.mu.Unlock()
	if len(lbErrs) > 0 {
		t.Errorf("the balancer in front of fanio failed requests: %s", strings.Join(lbErrs, "; "))
	}
	// The nodes' totals (logged when they stop): requests were forwarded
	// both ways, sessions moved on their upgrade, nothing failed.
	totals := regexp.MustCompile(`msg="cluster totals" forwarded=(\d+) served_for_others=(\d+) taken_over=(\d+) handed_over=(\d+) upgrades_refused=(\d+) forward_failures=(\d+)`)
	var forwarded, taken, failures int
	for i, f := range fanio {
		if err := f.stop(t); err != nil {
			t.Errorf("fanio node %d: %v", i, err)
		}
		out := f.out.String()
		m := totals.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("fanio node %d logged no cluster totals:\n%s", i, out)
		}
		t.Logf("fanio node %d: %s", i, m[0])
		forwarded += atoi(m[1])
		taken += atoi(m[3])
		failures += atoi(m[6])
		if strings.Contains(out, "level=WARN") || strings.Contains(out, "level=ERROR") {
			t.Errorf("fanio node %d logged warnings:\n%s", i, out)
		}
	}
	if forwarded == 0 || taken == 0 || failures != 0 {
		t.Errorf("cluster totals: %d forwarded, %d sessions taken over, %d failures", forwarded, taken, failures)
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
