package metricscost

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fanio/fanio/bench/fixture"
	"github.com/fanio/fanio/bench/loadgen"
)

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// A scrape of /metrics during a benchmark run agrees with the load
// generator's counts: every publish is one broadcast, every delivery the
// generator received is one the server counted, every echo one event
// handled and one acknowledgement sent; counters never go down between
// the scrapes taken while the load runs.
func TestScrapeAgreesWithLoadGenerator(t *testing.T) {
	srv := fixture.New(fixture.Options{Metrics: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	addr := srv.Addr().String()
	url := "http://" + addr + "/metrics"
	env := &loadgen.Env{Targets: []string{addr}, Srcs: loadgen.SourceAddrs(4), InProc: true, Label: "metrics", Log: testLog{t}}

	// Scrapes every 100 ms while the load runs: counters only grow.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var scrapeErr error
	scrapes := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		var prev Samples
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			s, err := Scrape(url)
			if err != nil {
				scrapeErr = err
				return
			}
			scrapes++
			for k, v := range s {
				if strings.HasSuffix(strings.SplitN(k, "{", 2)[0], "_total") && prev != nil && v < prev[k] {
					scrapeErr = errorf("%s went down: %v -> %v", k, prev[k], v)
					return
				}
			}
			prev = s
		}
	}()

	before, err := Scrape(url)
	if err != nil {
		t.Fatal(err)
	}
	fan, err := loadgen.Fanout(env, loadgen.FanoutParams{Transport: "websocket", Subscribers: 40, Rates: []float64{100},
		Duration: time.Second, Size: 64, Concurrency: 16})
	if err != nil {
		t.Fatal(err)
	}
	mid, err := Scrape(url)
	if err != nil {
		t.Fatal(err)
	}
	st := fan.Steps[0]
	if st.Sent < 50 || st.Lost != 0 {
		t.Fatalf("fanout step %+v", st)
	}
	if got := Delta(before, mid, "fanio_broadcasts_total"); got != float64(st.Sent) {
		t.Errorf("broadcasts: the server counted %v, the generator published %d", got, st.Sent)
	}
	if got := Delta(before, mid, "fanio_deliveries_total"); got != float64(st.Delivered) {
		t.Errorf("deliveries: the server counted %v, the generator received %d", got, st.Delivered)
	}
	if got := Delta(before, mid, `fanio_connects_total{namespace="/"}`); got < float64(fan.Connected) {
		t.Errorf("connects: %v, the generator connected %d", got, fan.Connected)
	}

	echo, err := loadgen.Echo(env, loadgen.EchoParams{Clients: 10, Rates: []float64{300}, Duration: time.Second, Size: 16})
	if err != nil {
		t.Fatal(err)
	}
	after, err := Scrape(url)
	if err != nil {
		t.Fatal(err)
	}
	es := echo.Steps[0]
	if es.Sent < 150 || es.Delivered != es.Sent {
		t.Fatalf("echo step %+v", es)
	}
	clients := float64(echo.Connected)
	if got := Delta(mid, after, `fanio_handler_duration_seconds_count{kind="event"}`); got != float64(es.Sent) {
		t.Errorf("echo events handled: %v, the generator sent %d", got, es.Sent)
	}
	// Each client: a CONNECT in, its answer out; each echo: an event in,
	// an acknowledgement out.
	if got := Delta(mid, after, "fanio_packets_received_total"); got != float64(es.Sent)+clients {
		t.Errorf("packets received: %v, want %d echoes + %v CONNECTs", got, es.Sent, clients)
	}
	if got := Delta(mid, after, "fanio_packets_sent_total"); got != float64(es.Delivered)+clients {
		t.Errorf("packets sent: %v, want %d acks + %v CONNECT answers", got, es.Delivered, clients)
	}
	if got := Delta(mid, after, "fanio_broadcasts_total"); got != 0 {
		t.Errorf("echo made %v broadcasts", got)
	}
	close(stop)
	wg.Wait()
	if scrapeErr != nil {
		t.Fatal(scrapeErr)
	}
	if scrapes < 5 {
		t.Fatalf("only %d scrapes during the run", scrapes)
	}
	t.Logf("fanout %d pubs → %d deliveries, echo %d, %d scrapes meanwhile", st.Sent, st.Delivered, es.Sent, scrapes)
}
