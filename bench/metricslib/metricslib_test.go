package metricslib

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	vm "github.com/VictoriaMetrics/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/fanio/fanio/engine"
	"github.com/fanio/fanio/sio"
)

// snapshot is a server's Stats as a scrape sees them: four namespaces,
// every reason, three handler histograms.
func snapshot() sio.Stats {
	st := sio.Stats{
		Engine: engine.Stats{
			Sessions: 10000, PollingSessions: 120, WebSocketSessions: 9880, SessionsOpened: 123456, Upgrades: 100000,
			Closes: map[engine.DisconnectReason]uint64{}, Refused: map[string]uint64{},
			PacketsReceived: 1 << 30, PacketsSent: 1 << 34, BytesReceived: 1 << 38, BytesSent: 1 << 42, Connections: 10010,
		},
		Disconnects: map[sio.DisconnectReason]uint64{}, Refused: map[string]uint64{"middleware": 3, "invalid_namespace": 1},
		Broadcasts: 1 << 20, Deliveries: 1 << 33, AcksPending: 42, AckTimeouts: 7, Workers: 16, BusyWorkers: 3,
		HandlerDurations: map[string]sio.Histogram{},
	}
	for _, r := range []engine.DisconnectReason{"transport close", "transport error", "ping timeout", "forced close", "parse error", "server shutting down", "slow reader"} {
		st.Engine.Closes[r] = 1000
		st.Disconnects[r] = 1000
	}
	st.Disconnects["client namespace disconnect"] = 5
	st.Disconnects["server namespace disconnect"] = 5
	for _, r := range []string{"unknown_transport", "unknown_sid", "bad_handshake_method", "bad_request", "transport_mismatch", "forbidden", "unsupported_protocol_version", "bad_websocket_handshake", "server_closing", "max_connections"} {
		st.Engine.Refused[r] = 9
	}
	for _, n := range []string{"/", "/admin", "/chat", "/app"} {
		st.Namespaces = append(st.Namespaces, sio.NamespaceStats{Name: n, Sockets: 2500, Rooms: 300, Connects: 99999})
	}
	for _, k := range []string{"connect", "event", "ack"} {
		h := sio.Histogram{Bounds: sio.HandlerDurationBounds[:], Counts: make([]uint64, len(sio.HandlerDurationBounds)+1), Sum: time.Hour}
		for i := range h.Counts {
			h.Counts[i] = uint64(i * 1000)
		}
		st.HandlerDurations[k] = h
	}
	return st
}

// ---- client_golang: a Collector of const metrics

type promExporter struct {
	stats func() sio.Stats
	descs map[string]*prometheus.Desc
}

func newPromExporter(stats func() sio.Stats) *promExporter {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &promExporter{stats: stats, descs: map[string]*prometheus.Desc{
		"sessions":    d("fanio_engine_sessions", "Open Engine.IO sessions by transport.", "transport"),
		"opened":      d("fanio_engine_sessions_opened_total", "Sessions opened."),
		"upgrades":    d("fanio_engine_upgrades_total", "Upgrades."),
		"closes":      d("fanio_engine_closes_total", "Sessions closed by reason.", "reason"),
		"refused":     d("fanio_handshakes_refused_total", "Refused.", "reason"),
		"pin":         d("fanio_packets_received_total", "Packets in."),
		"pout":        d("fanio_packets_sent_total", "Packets out."),
		"bin":         d("fanio_bytes_received_total", "Bytes in."),
		"bout":        d("fanio_bytes_sent_total", "Bytes out."),
		"conns":       d("fanio_connections", "Connections."),
		"sockets":     d("fanio_sockets", "Sockets.", "namespace"),
		"rooms":       d("fanio_rooms", "Rooms.", "namespace"),
		"connects":    d("fanio_connects_total", "Connects.", "namespace"),
		"disconnects": d("fanio_disconnects_total", "Disconnects.", "reason"),
		"broadcasts":  d("fanio_broadcasts_total", "Broadcasts."),
		"deliveries":  d("fanio_deliveries_total", "Deliveries."),
		"acks":        d("fanio_acks_pending", "Acks pending."),
		"acktimeouts": d("fanio_ack_timeouts_total", "Ack timeouts."),
		"workers":     d("fanio_handler_workers", "Workers."),
		"busy":        d("fanio_handler_workers_busy", "Busy."),
		"hist":        d("fanio_handler_duration_seconds", "Handler durations.", "kind"),
	}}
}

func (e *promExporter) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range e.descs {
		ch <- d
	}
}

func (e *promExporter) Collect(ch chan<- prometheus.Metric) {
	st := e.stats()
	c := func(k string, v uint64, l ...string) {
		ch <- prometheus.MustNewConstMetric(e.descs[k], prometheus.CounterValue, float64(v), l...)
	}
	g := func(k string, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(e.descs[k], prometheus.GaugeValue, v, l...)
	}
	g("sessions", float64(st.Engine.PollingSessions), "polling")
	g("sessions", float64(st.Engine.WebSocketSessions), "websocket")
	c("opened", st.Engine.SessionsOpened)
	c("upgrades", st.Engine.Upgrades)
	for r, v := range st.Engine.Closes {
		c("closes", v, string(r))
	}
	for r, v := range st.Engine.Refused {
		c("refused", v, r)
	}
	for r, v := range st.Refused {
		c("refused", v, r)
	}
	c("pin", st.Engine.PacketsReceived)
	c("pout", st.Engine.PacketsSent)
	c("bin", st.Engine.BytesReceived)
	c("bout", st.Engine.BytesSent)
	g("conns", float64(st.Engine.Connections))
	for _, n := range st.Namespaces {
		g("sockets", float64(n.Sockets), n.Name)
		g("rooms", float64(n.Rooms), n.Name)
		c("connects", n.Connects, n.Name)
	}
	for r, v := range st.Disconnects {
		c("disconnects", v, string(r))
	}
	c("broadcasts", st.Broadcasts)
	c("deliveries", st.Deliveries)
	g("acks", float64(st.AcksPending))
	c("acktimeouts", st.AckTimeouts)
	g("workers", float64(st.Workers))
	g("busy", float64(st.BusyWorkers))
	for k, h := range st.HandlerDurations {
		buckets := make(map[float64]uint64, len(h.Bounds))
		var cum uint64
		for i, b := range h.Bounds {
			cum += h.Counts[i]
			buckets[b.Seconds()] = cum
		}
		ch <- prometheus.MustNewConstHistogram(e.descs["hist"], h.Count(), h.Sum.Seconds(), buckets, k)
	}
}

func promHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newPromExporter(snapshot))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// ---- VictoriaMetrics/metrics: a Set with a writer callback

func writeVM(w io.Writer, st sio.Stats) {
	gauge := func(name string, v int) { vm.WriteGaugeUint64(w, name, uint64(max(v, 0))) }
	gauge(`fanio_engine_sessions{transport="polling"}`, st.Engine.PollingSessions)
	gauge(`fanio_engine_sessions{transport="websocket"}`, st.Engine.WebSocketSessions)
	vm.WriteCounterUint64(w, "fanio_engine_sessions_opened_total", st.Engine.SessionsOpened)
	vm.WriteCounterUint64(w, "fanio_engine_upgrades_total", st.Engine.Upgrades)
	for r, v := range st.Engine.Closes {
		vm.WriteCounterUint64(w, `fanio_engine_closes_total{reason="`+string(r)+`"}`, v)
	}
	for r, v := range st.Engine.Refused {
		vm.WriteCounterUint64(w, `fanio_handshakes_refused_total{reason="`+r+`"}`, v)
	}
	for r, v := range st.Refused {
		vm.WriteCounterUint64(w, `fanio_handshakes_refused_total{reason="`+r+`"}`, v)
	}
	vm.WriteCounterUint64(w, "fanio_packets_received_total", st.Engine.PacketsReceived)
	vm.WriteCounterUint64(w, "fanio_packets_sent_total", st.Engine.PacketsSent)
	vm.WriteCounterUint64(w, "fanio_bytes_received_total", st.Engine.BytesReceived)
	vm.WriteCounterUint64(w, "fanio_bytes_sent_total", st.Engine.BytesSent)
	gauge("fanio_connections", st.Engine.Connections)
	for _, n := range st.Namespaces {
		gauge(`fanio_sockets{namespace="`+n.Name+`"}`, n.Sockets)
		gauge(`fanio_rooms{namespace="`+n.Name+`"}`, n.Rooms)
		vm.WriteCounterUint64(w, `fanio_connects_total{namespace="`+n.Name+`"}`, n.Connects)
	}
	for r, v := range st.Disconnects {
		vm.WriteCounterUint64(w, `fanio_disconnects_total{reason="`+string(r)+`"}`, v)
	}
	vm.WriteCounterUint64(w, "fanio_broadcasts_total", st.Broadcasts)
	vm.WriteCounterUint64(w, "fanio_deliveries_total", st.Deliveries)
	gauge("fanio_acks_pending", int(st.AcksPending))
	vm.WriteCounterUint64(w, "fanio_ack_timeouts_total", st.AckTimeouts)
	gauge("fanio_handler_workers", st.Workers)
	gauge("fanio_handler_workers_busy", st.BusyWorkers)
	for k, h := range st.HandlerDurations {
		var cum uint64
		for i, b := range h.Bounds {
			cum += h.Counts[i]
			vm.WriteCounterUint64(w, `fanio_handler_duration_seconds_bucket{kind="`+k+`",le="`+strconv.FormatFloat(b.Seconds(), 'g', -1, 64)+`"}`, cum)
		}
		vm.WriteCounterUint64(w, `fanio_handler_duration_seconds_bucket{kind="`+k+`",le="+Inf"}`, h.Count())
		vm.WriteCounterFloat64(w, `fanio_handler_duration_seconds_sum{kind="`+k+`"}`, h.Sum.Seconds())
		vm.WriteCounterUint64(w, `fanio_handler_duration_seconds_count{kind="`+k+`"}`, h.Count())
	}
}

func vmHandler() http.Handler {
	set := vm.NewSet()
	set.RegisterMetricsWriter(func(w io.Writer) { writeVM(w, snapshot()) })
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		set.WritePrometheus(w)
		vm.WriteProcessMetrics(w)
	})
}

// ---- benchmarks

func scrape(b *testing.B, h http.Handler) {
	req := httptest.NewRequest("GET", "/metrics", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	size := rec.Body.Len()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
	}
	b.ReportMetric(float64(size), "bytes/scrape")
}

// BenchmarkScrape: one scrape of fanio's families plus the library's Go
// runtime and process metrics.
func BenchmarkScrape(b *testing.B) {
	b.Run("client_golang", func(b *testing.B) { scrape(b, promHandler()) })
	b.Run("victoriametrics", func(b *testing.B) { scrape(b, vmHandler()) })
}

// BenchmarkRecord: one counter increment from every goroutine at once (the
// message path): each library's counter (one shared atomic), and fanio's
// cells (an atomic on one of 32 cache lines, picked at random).
func BenchmarkRecord(b *testing.B) {
	b.Run("client_golang", func(b *testing.B) {
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: "x_total", Help: "x"})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.Inc()
			}
		})
	})
	b.Run("client_golang_vec", func(b *testing.B) {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "x_total", Help: "x"}, []string{"namespace"})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.WithLabelValues("/chat").Inc()
			}
		})
	})
	b.Run("victoriametrics", func(b *testing.B) {
		c := vm.NewSet().NewCounter("x_total")
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.Inc()
			}
		})
	})
	b.Run("fanio_cells", func(b *testing.B) {
		type cell struct {
			n atomic.Uint64
			_ [56]byte
		}
		var cells [32]cell
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				cells[rand.Uint32()%32].n.Add(1)
			}
		})
		var sum uint64
		for i := range cells {
			sum += cells[i].n.Load()
		}
		if sum != uint64(b.N) {
			b.Fatal(fmt.Sprint(sum, "!=", b.N))
		}
	})
}
