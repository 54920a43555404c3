package runner

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fanio/fanio/bench/loadgen"
)

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestEndToEndAgainstNode proves the generator against the real socket.io
// fixture: every scenario, tiny and bounded (about 10 s in all), then the
// report and plots from those numbers.
func TestEndToEndAgainstNode(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is not installed (Node.js 20 is needed for the reference fixture; .ci/run's npm ci needs it too)")
	}
	root := FindRoot(".")
	if err := EnsureNodeModules(root, t.Logf); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	srv, err := StartServer(ServerSpec{Name: "node", Dir: root, Port: port,
		Argv: []string{"node", "bench/node/server.mjs", "--port", strconv.Itoa(port)}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	target := "127.0.0.1:" + strconv.Itoa(port)
	env := &loadgen.Env{Targets: []string{target}, PID: srv.PID, StatsURL: "http://" + target + "/stats",
		Srcs: loadgen.SourceAddrs(4), InProc: true, Label: "e2e", Log: testLog{t}}
	start := time.Now()

	fan, err := loadgen.Fanout(env, loadgen.FanoutParams{Transport: "websocket", Subscribers: 50, Rates: []float64{50},
		Duration: time.Second, Size: 64, Concurrency: 16})
	if err != nil {
		t.Fatal(err)
	}
	st := fan.Steps[0]
	if fan.Connected != 50 || st.Sent < 30 || st.Delivered != st.Sent*50 || st.Latency.Count != uint64(st.Delivered) {
		t.Fatalf("fanout: connected %d sent %d delivered %d latency samples %d errors %v", fan.Connected, st.Sent, st.Delivered, st.Latency.Count, st.ErrSample)
	}
	if st.Latency.P50Us <= 0 || st.ServerCPUSeconds <= 0 || st.PerSec <= 0 {
		t.Fatalf("fanout: implausible step %+v", st)
	}

	echo, err := loadgen.Echo(env, loadgen.EchoParams{Clients: 10, Rates: []float64{200}, Duration: time.Second, Size: 16})
	if err != nil {
		t.Fatal(err)
	}
	if es := echo.Steps[0]; es.Sent < 150 || es.Delivered != es.Sent || es.Latency.Count != uint64(es.Sent) {
		t.Fatalf("echo: sent %d acked %d errors %v", es.Sent, es.Delivered, es.ErrSample)
	}

	poll, err := loadgen.Fanout(env, loadgen.FanoutParams{Transport: "polling", Subscribers: 10, Rates: []float64{20},
		Duration: time.Second, Size: 64, Concurrency: 10})
	if err != nil {
		t.Fatal(err)
	}
	if ps := poll.Steps[0]; poll.Connected != 10 || ps.Sent < 10 || ps.Delivered != ps.Sent*10 {
		t.Fatalf("pollfanout: connected %d sent %d delivered %d errors %v", poll.Connected, ps.Sent, ps.Delivered, ps.ErrSample)
	}

	conn, err := loadgen.Connect(env, loadgen.ConnectParams{Modes: []string{"websocket", "upgrade"}, Duration: 500 * time.Millisecond, Concurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	for _, cs := range conn.Steps {
		if cs.OK < 5 || cs.Failed != 0 {
			t.Fatalf("connect %s: ok %d failed %d errors %v", cs.Mode, cs.OK, cs.Failed, cs.ErrSample)
		}
	}

	dens, err := loadgen.Density(env, loadgen.DensityParams{Steps: []int{100, 300}, Settle: 300 * time.Millisecond, Concurrency: 32})
	if err != nil {
		t.Fatal(err)
	}
	last := dens.Steps[len(dens.Steps)-1]
	if last.Connected != 300 || last.ServerSockets != 300 || last.RSSBytes <= 0 {
		t.Fatalf("density: %+v", last)
	}
	appd, err := loadgen.Density(env, loadgen.DensityParams{Steps: []int{100}, Settle: 300 * time.Millisecond, Concurrency: 32, App: true})
	if err != nil {
		t.Fatal(err)
	}
	// Connected to /app: the middleware accepted the auth payload and header.
	if as := appd.Steps[0]; !appd.App || as.Connected != 100 || as.Failed != 0 || as.ServerSockets < 100 {
		t.Fatalf("app density: %+v errors %v", as, appd.Errors)
	}

	blk, err := loadgen.Blocking(env, loadgen.BlockingParams{Blockers: 20, Hold: 500 * time.Millisecond, Rate: 100, Duration: 300 * time.Millisecond, Drain: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	checkBlocking(t, blk, 20, 500*time.Millisecond)
	t.Logf("scenarios took %v", time.Since(start))

	// Report and plots from these numbers, with the Go runs skipped.
	res := &Results{Date: time.Now().UTC().Format(time.RFC3339), Mode: "test", Machine: CollectMachine(), Versions: CollectVersions(root),
		CommandLine: "go test", Profile: Profile{Name: "test", Fanout: loadgen.FanoutParams{Size: 64}, Connect: loadgen.ConnectParams{Modes: []string{"websocket", "upgrade"}, Concurrency: 4}},
		Runs: []ServerRun{
			{Name: "node", Label: "Node", Density: dens, Fanout: fan, Echo: echo, Connect: conn, PollFanout: poll, AppDensity: appd, Blocking: blk},
			{Name: "go-1core", Skipped: "stub"},
		}}
	dir := t.TempDir()
	plots, err := WritePlots(res, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(plots) < 4 || !strings.HasSuffix(plots[1], "fanout_cpu_vs_load.png") {
		t.Fatalf("plots %v", plots) // RSS, CPU (fanout, and echo if its CPU registered), latency ×2
	}
	for _, p := range plots {
		if fi, err := os.Stat(p); err != nil || fi.Size() < 1000 {
			t.Fatalf("plot %s: %v", p, err)
		}
	}
	md := filepath.Join(dir, "B.md")
	if err := UpdateMarkdown(md, res, root, plots); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(md)
	for _, want := range []string{"| 300 |", "saturation", "| websocket |", "| upgrade |", "go-1core skipped", "density -app", "| Node | "} {
		if want == "saturation" {
			continue // no saturation step in this tiny run
		}
		if !strings.Contains(string(b), want) {
			t.Fatalf("markdown lacks %q:\n%s", want, b)
		}
	}
}

// checkBlocking asserts what the blocking scenario must show of a server
// that runs blocked handlers side by side: every blocking call acked after
// about hold (not in waves), and the probe answered in full.
func checkBlocking(t *testing.T, b *loadgen.BlockingResult, blockers int, hold time.Duration) {
	t.Helper()
	if b.Connected != blockers || b.BlockSent != int64(blockers) || b.BlockDone != int64(blockers) {
		t.Fatalf("blocking: %d connected, %d blocking calls sent, %d done; errors %v", b.Connected, b.BlockSent, b.BlockDone, b.Errors)
	}
	// 0.98: the histogram reports a bucket's lower bound (< 0.8 % below).
	if b.BlockCalls.P50Us < 0.98*float64(hold.Microseconds()) || b.BlockCalls.MaxUs > float64((hold+max(hold, 2*time.Second)).Microseconds()) {
		t.Fatalf("blocking calls took %+v, want about %v each, all at once", b.BlockCalls, hold)
	}
	for _, st := range []loadgen.LoadStep{b.Idle, b.Blocked} {
		if st.Sent == 0 || st.Delivered != st.Sent || st.Latency.Count != uint64(st.Sent) {
			t.Fatalf("blocking probe: sent %d acked %d errors %v", st.Sent, st.Delivered, st.ErrSample)
		}
	}
}

// TestBlockingAgainstFanio runs the blocking scenario against the Go
// fixture on one core: while 60 handlers block for 3 s, an unrelated
// client's acks all come back before the blocked handlers finish (the
// fixed 16-worker pool answered them only after the blocked handlers
// drained, in waves).
func TestBlockingAgainstFanio(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	root := FindRoot(".")
	bin, err := BuildGoServer(root, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	srv, err := StartServer(ServerSpec{Name: "go-1core", Dir: root, Port: port, Env: []string{"GOMAXPROCS=1"},
		Argv: []string{bin, "-addr", "127.0.0.1:" + strconv.Itoa(port), "-cores", "1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	target := "127.0.0.1:" + strconv.Itoa(port)
	env := &loadgen.Env{Targets: []string{target}, PID: srv.PID, StatsURL: "http://" + target + "/stats",
		Srcs: loadgen.SourceAddrs(4), InProc: true, Label: "e2e-fanio", Log: testLog{t}}
	const hold = 3 * time.Second
	b, err := loadgen.Blocking(env, loadgen.BlockingParams{Blockers: 60, Hold: hold, Rate: 100, Duration: time.Second, Drain: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	checkBlocking(t, b, 60, hold)
	if b.Blocked.Latency.MaxUs >= float64(hold.Microseconds()) {
		t.Fatalf("an ack of the unrelated client took %.0f ms: it waited for the blocked handlers", b.Blocked.Latency.MaxUs/1e3)
	}

	appd, err := loadgen.Density(env, loadgen.DensityParams{Steps: []int{50}, Settle: 200 * time.Millisecond, Concurrency: 16, App: true})
	if err != nil {
		t.Fatal(err)
	}
	if as := appd.Steps[0]; as.Connected != 50 || as.Failed != 0 || as.ServerSockets < 50 {
		t.Fatalf("app density against fanio: %+v errors %v", as, appd.Errors)
	}
}
