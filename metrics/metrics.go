package metrics

import (
	"compress/gzip"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	vm "github.com/VictoriaMetrics/metrics"

	"github.com/fanio/fanio/engine"
	"github.com/fanio/fanio/sio"
)

// Options configure a Handler. The zero value serves everything.
type Options struct {
	// NoProcessMetrics leaves out the Go runtime and process metrics
	// (go_*, process_*), for an application that exports its own.
	NoProcessMetrics bool
	// NoHandlerTiming leaves the handlers untimed (no
	// fanio_handler_duration_seconds; saves two clock reads per packet).
	NoHandlerTiming bool
}

// ContentType is the exposition format served.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Handler serves srv's metrics (see the package doc), compressed with gzip
// when the scraper accepts it. It turns on srv's handler timing unless
// opts.NoHandlerTiming.
func Handler(srv *sio.Server, opts Options) http.Handler {
	if !opts.NoHandlerTiming {
		srv.TimeHandlers(true)
	}
	return handler(func(w io.Writer) {
		Write(w, srv, opts)
	})
}

// EngineHandler serves the metrics of an Engine.IO server used on its own
// (the fanio_engine_*, packet, byte and refusal families).
func EngineHandler(srv *engine.Server, opts Options) http.Handler {
	return handler(func(w io.Writer) {
		b := getBuf()
		st := srv.Stats()
		b.B = appendEngine(b.B, &st, nil)
		_, _ = w.Write(b.B)
		putBuf(b)
		if !opts.NoProcessMetrics {
			writeProcess(w)
		}
	})
}

func handler(write func(io.Writer)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", ContentType)
		w.Header().Set("Cache-Control", "no-store")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Add("Vary", "Accept-Encoding")
			gz := gzips.Get().(*gzip.Writer)
			gz.Reset(w)
			write(gz)
			_ = gz.Close()
			gz.Reset(nil)
			gzips.Put(gz)
			return
		}
		write(w)
	})
}

var gzips = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return w
}}

// acceptsGzip reads an Accept-Encoding header: gzip listed with a q above 0.
func acceptsGzip(ae string) bool {
	for _, part := range strings.Split(ae, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		if _, q, ok := strings.Cut(params, "q="); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(q), 64)
			return err == nil && v > 0
		}
		return true
	}
	return false
}

// Write writes srv's metrics to w in the text exposition format.
func Write(w io.Writer, srv *sio.Server, opts Options) {
	st := srv.Stats()
	b := getBuf()
	b.B = appendStats(b.B, &st)
	_, _ = w.Write(b.B)
	putBuf(b)
	if !opts.NoProcessMetrics {
		writeProcess(w)
	}
}

func writeProcess(w io.Writer) {
	vm.WriteProcessMetrics(w)
	vm.WriteFDMetrics(w)
}

type buf struct{ B []byte }

var bufs = sync.Pool{New: func() any { return &buf{B: make([]byte, 0, 16<<10)} }}

func getBuf() *buf { return bufs.Get().(*buf) }
func putBuf(b *buf) {
	if cap(b.B) <= 1<<20 {
		b.B = b.B[:0]
		bufs.Put(b)
	}
}

// ---- the families

func appendStats(b []byte, st *sio.Stats) []byte {
	b = appendEngine(b, &st.Engine, st.Refused)

	nsps := slices.Clone(st.Namespaces)
	slices.SortFunc(nsps, func(x, y sio.NamespaceStats) int { return strings.Compare(x.Name, y.Name) })
	b = family(b, "fanio_sockets", "gauge", "Sockets connected, by namespace.")
	for _, n := range nsps {
		b = sample(b, "fanio_sockets", "namespace", n.Name, float64(n.Sockets))
	}
	b = family(b, "fanio_rooms", "gauge", "Rooms with members on this node, by namespace (the sockets' own rooms not counted).")
	for _, n := range nsps {
		if n.Rooms >= 0 {
			b = sample(b, "fanio_rooms", "namespace", n.Name, float64(n.Rooms))
		}
	}
	b = family(b, "fanio_connects_total", "counter", "Sockets connected since the start, by namespace.")
	for _, n := range nsps {
		b = sample(b, "fanio_connects_total", "namespace", n.Name, float64(n.Connects))
	}
	b = family(b, "fanio_disconnects_total", "counter", "Sockets disconnected, by reason.")
	b = samples(b, "fanio_disconnects_total", "reason", st.Disconnects)

	b = counter(b, "fanio_broadcasts_total", "Broadcasts sent to this node's sockets.", st.Broadcasts)
	b = counter(b, "fanio_deliveries_total", "Packets queued by broadcasts, one per socket reached.", st.Deliveries)
	b = gauge(b, "fanio_acks_pending", "Acknowledgements the server waits for.", float64(st.AcksPending))
	b = counter(b, "fanio_ack_timeouts_total", "Acknowledgement requests and broadcasts that timed out.", st.AckTimeouts)
	b = counter(b, "fanio_inbound_overflow_disconnects_total", "Connections closed because they went on delivering past twice MaxQueuedPackets or MaxQueuedBytes while their reads were paused.", st.InboundOverflows)
	b = counter(b, "fanio_handler_panics_total", "Handlers that panicked.", st.HandlerPanics)
	b = gauge(b, "fanio_handler_workers", "Goroutines running handlers.", float64(st.Workers))
	b = gauge(b, "fanio_handler_workers_busy", "Handler goroutines running a handler now.", float64(st.BusyWorkers))
	b = gauge(b, "fanio_handler_queue_depth", "Connections with packets waiting for a handler goroutine.", float64(st.Waiting))

	if len(st.HandlerDurations) > 0 {
		name := "fanio_handler_duration_seconds"
		b = family(b, name, "histogram", "How long handlers ran, by kind (connect: middleware and connection handlers; event; ack: acknowledgement callbacks).")
		kinds := make([]string, 0, len(st.HandlerDurations))
		for k := range st.HandlerDurations {
			kinds = append(kinds, k)
		}
		slices.Sort(kinds)
		for _, k := range kinds {
			h := st.HandlerDurations[k]
			var cum uint64
			for i, bound := range h.Bounds {
				cum += h.Counts[i]
				b = append(b, name...)
				b = append(b, `_bucket{kind="`...)
				b = appendEscaped(b, k)
				b = append(b, `",le="`...)
				b = strconv.AppendFloat(b, bound.Seconds(), 'g', -1, 64)
				b = append(b, `"} `...)
				b = strconv.AppendUint(b, cum, 10)
				b = append(b, '\n')
			}
			count := h.Count()
			b = append(b, name...)
			b = append(b, `_bucket{kind="`...)
			b = appendEscaped(b, k)
			b = append(b, `",le="+Inf"} `...)
			b = strconv.AppendUint(b, count, 10)
			b = append(b, '\n')
			b = sample(b, name+"_sum", "kind", k, h.Sum.Seconds())
			b = sample(b, name+"_count", "kind", k, float64(count))
		}
	}

	if a := st.Adapter; a != nil {
		b = counter(b, "fanio_adapter_publishes_total", "Messages the cluster adapter published to the other nodes.", a.Published)
		b = counter(b, "fanio_adapter_publish_errors_total", "Publishes to the other nodes that failed.", a.PublishErrors)
		b = counter(b, "fanio_adapter_receives_total", "Messages the cluster adapter received from the other nodes.", a.Received)
		b = counter(b, "fanio_adapter_receive_errors_total", "Messages from the other nodes dropped as undecodable.", a.ReceiveErrors)
		b = counter(b, "fanio_adapter_reconnects_total", "Times the cluster adapter's connection was established again after it was lost.", a.Reconnects)
		b = counter(b, "fanio_adapter_request_timeouts_total", "Requests to the other nodes that ended at their timeout.", a.RequestTimeouts)
		b = gauge(b, "fanio_adapter_connected", "1 when the cluster adapter reaches the other nodes.", boolValue(a.Connected))
	}
	return b
}

// appendEngine writes the Engine.IO families; refused are the Socket.IO
// layer's refusals, published in the same family.
func appendEngine(b []byte, st *engine.Stats, refused map[string]uint64) []byte {
	b = family(b, "fanio_engine_sessions", "gauge", "Open Engine.IO sessions, by transport (polling: not upgraded).")
	b = sample(b, "fanio_engine_sessions", "transport", "polling", float64(st.PollingSessions))
	b = sample(b, "fanio_engine_sessions", "transport", "websocket", float64(st.WebSocketSessions))
	b = counter(b, "fanio_engine_sessions_opened_total", "Engine.IO sessions opened.", st.SessionsOpened)
	b = counter(b, "fanio_engine_upgrades_total", "Sessions upgraded from polling to WebSocket.", st.Upgrades)
	b = family(b, "fanio_engine_closes_total", "counter", "Engine.IO sessions closed, by reason.")
	b = samples(b, "fanio_engine_closes_total", "reason", st.Closes)
	all := make(map[string]uint64, len(st.Refused)+len(refused))
	for k, v := range st.Refused {
		all[k] = v
	}
	for k, v := range refused {
		all[k] += v
	}
	b = family(b, "fanio_handshakes_refused_total", "counter", "Requests and connections refused before a session or socket was made, by reason.")
	b = samples(b, "fanio_handshakes_refused_total", "reason", all)
	b = counter(b, "fanio_packets_received_total", "Engine.IO MESSAGE packets received.", st.PacketsReceived)
	b = counter(b, "fanio_packets_sent_total", "Engine.IO MESSAGE packets sent (a broadcast counts once per session).", st.PacketsSent)
	b = counter(b, "fanio_bytes_received_total", "Bytes of the MESSAGE packets received (data, before framing).", st.BytesReceived)
	b = counter(b, "fanio_bytes_sent_total", "Bytes of the MESSAGE packets sent (data, before framing and compression).", st.BytesSent)
	b = counter(b, "fanio_slow_reader_disconnects_total", "Connections closed because a packet did not fit in their outbound budget (MaxOutboundBytes).", st.SlowReaders)
	b = counter(b, "fanio_volatile_dropped_total", "Volatile packets dropped: the transport could not take them, or they did not fit in the outbound budget.", st.VolatileDropped)
	b = counter(b, "fanio_read_pauses_total", "Times a connection's reads were paused because its handlers were behind.", st.ReadPauses)
	b = counter(b, "fanio_paused_inbound_overflows_total", "WebSockets closed because they piled up input while their reads were paused.", st.InboundOverflows)
	b = counter(b, "fanio_outbound_budget_cuts_total", "Connections closed to bring the sum of all backlogs under MaxOutboundBytesTotal.", st.BudgetCuts)
	b = gauge(b, "fanio_outbound_bytes", "Bytes all connections hold unwritten (kept only with MaxOutboundBytesTotal; 0 otherwise).", float64(st.OutboundBytes))
	b = counter(b, "fanio_memory_releases_total", "Times freed memory was returned to the OS after connections left.", st.MemoryReleases)
	b = counter(b, "fanio_oversize_payloads_total", "Messages and polling bodies over MaxPayload (413, or a WebSocket closed with 1009).", st.Oversize)
	b = counter(b, "fanio_engine_protocol_errors_total", "Sessions closed for an undecodable Engine.IO packet or WebSocket frame.", st.ProtocolErrors)
	b = gauge(b, "fanio_connections", "Connections the server holds.", float64(st.Connections))
	b = counter(b, "fanio_accept_errors_total", "Accept failures the server backed off from.", st.AcceptErrors)
	if c := st.Cluster; c != nil {
		b = counter(b, "fanio_cluster_forwarded_total", "Polling requests received here for another node's session, forwarded to that node.", c.Forwarded)
		b = counter(b, "fanio_cluster_served_total", "Requests other nodes forwarded here.", c.Served)
		b = counter(b, "fanio_cluster_forward_failures_total", "Requests for another node's session answered 400 Session ID unknown: that node gone, unreachable or too slow.", c.ForwardFailures)
		b = counter(b, "fanio_cluster_forward_timeouts_total", "Forward failures that were timeouts.", c.ForwardTimeouts)
		b = counter(b, "fanio_cluster_sessions_taken_over_total", "Sessions that moved here from another node on their WebSocket upgrade.", c.TakenOver)
		b = counter(b, "fanio_cluster_sessions_handed_over_total", "Sessions that moved from here to another node on their WebSocket upgrade.", c.HandedOver)
		b = counter(b, "fanio_cluster_upgrades_refused_total", "WebSocket upgrades received here for another node's session that could not move (the client stays on polling).", c.UpgradesRefused)
		b = gauge(b, "fanio_cluster_waiting", "Forwarded requests and takeovers waiting for another node's answer.", float64(c.Waiting))
	}
	return b
}

func family(b []byte, name, typ, help string) []byte {
	b = append(b, "# HELP "...)
	b = append(b, name...)
	b = append(b, ' ')
	b = append(b, help...)
	b = append(b, "\n# TYPE "...)
	b = append(b, name...)
	b = append(b, ' ')
	b = append(b, typ...)
	return append(b, '\n')
}

func counter(b []byte, name, help string, v uint64) []byte {
	b = family(b, name, "counter", help)
	b = append(b, name...)
	b = append(b, ' ')
	b = strconv.AppendUint(b, v, 10)
	return append(b, '\n')
}

func gauge(b []byte, name, help string, v float64) []byte {
	b = family(b, name, "gauge", help)
	return sample(b, name, "", "", v)
}

// sample writes name{label="value"} v (no label when label is "").
func sample(b []byte, name, label, value string, v float64) []byte {
	b = append(b, name...)
	if label != "" {
		b = append(b, '{')
		b = append(b, label...)
		b = append(b, `="`...)
		b = appendEscaped(b, value)
		b = append(b, `"}`...)
	}
	b = append(b, ' ')
	b = appendValue(b, v)
	return append(b, '\n')
}

// samples writes one sample per key, sorted.
func samples[K ~string](b []byte, name, label string, m map[K]uint64) []byte {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b = sample(b, name, label, string(k), float64(m[k]))
	}
	return b
}

func appendValue(b []byte, v float64) []byte {
	switch {
	case math.IsInf(v, 1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case v == math.Trunc(v) && math.Abs(v) < 1<<53:
		return strconv.AppendInt(b, int64(v), 10)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// appendEscaped writes a label value: backslash, double quote and line
// feed escaped, as the text format wants (namespace names are the
// clients' to choose, with dynamic namespaces).
func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b = append(b, `\\`...)
		case '"':
			b = append(b, `\"`...)
		case '\n':
			b = append(b, `\n`...)
		default:
			b = append(b, c)
		}
	}
	return b
}

func boolValue(v bool) float64 {
	if v {
		return 1
	}
	return 0
}
