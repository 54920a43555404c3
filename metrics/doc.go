// Package metrics publishes a fanio server's metrics in the Prometheus text
// exposition format: an http.Handler to mount at /metrics.
//
//	srv := sio.NewServer(sio.Options{})
//	mux := http.NewServeMux()
//	mux.Handle("/metrics", metrics.Handler(srv, metrics.Options{}))
//
// What it publishes (every family with # HELP and # TYPE):
//
//   - Engine.IO: fanio_engine_sessions{transport}, sessions opened,
//     upgrades, closes by reason, fanio_handshakes_refused_total{reason}
//     (requests refused before a session: the engine's reasons, a
//     namespace's middleware or an unknown namespace, MaxConnections),
//     fanio_packets_received_total, fanio_packets_sent_total,
//     fanio_bytes_received_total, fanio_bytes_sent_total (MESSAGE packets
//     and their data, as the admin UI counts them), slow-reader
//     disconnects, oversize payloads, protocol errors, connections held,
//     and flow control: fanio_volatile_dropped_total,
//     fanio_read_pauses_total, fanio_paused_inbound_overflows_total,
//     fanio_outbound_budget_cuts_total, fanio_outbound_bytes,
//     fanio_memory_releases_total;
//   - Socket.IO: fanio_sockets{namespace}, fanio_rooms{namespace} (the
//     sockets' own rooms not counted), fanio_connects_total{namespace},
//     fanio_disconnects_total{reason}, fanio_broadcasts_total,
//     fanio_deliveries_total, fanio_acks_pending,
//     fanio_ack_timeouts_total, inbound-overflow disconnects, handler
//     panics, the handlers' workers (fanio_handler_workers, busy, and the
//     connections waiting for one: fanio_handler_queue_depth), and the
//     handler duration histogram fanio_handler_duration_seconds{kind};
//   - in a cluster whose nodes serve each other's sessions (no sticky
//     sessions: engine.Cluster), fanio_cluster_*: requests forwarded to
//     and served for other nodes, forward failures and timeouts, sessions
//     taken over and handed over on their upgrade, upgrades refused, and
//     what waits for another node now;
//   - a multi-node adapter's publishes, receives, errors, reconnects and
//     whether it is connected (fanio_adapter_*), when it reports them
//     (sio.AdapterStatser);
//   - the Go runtime's and the process's (go_*, process_*: memory, GC,
//     goroutines, CPU, open files), unless Options.NoProcessMetrics.
//
// Nothing is recorded here: the servers keep their counters anyway (in
// per-connection cache-line cells, with no lock and no allocation on the
// message path: see sio.Server.Stats and engine.Server.Stats), and a scrape
// reads and sums them. The only recording this package turns on is the
// handlers' durations (sio.Server.TimeHandlers: two clock reads per packet
// handled).
//
// The Go runtime and process metrics come from
// github.com/VictoriaMetrics/metrics, chosen over prometheus/client_golang
// by measurement (bench/metricslib, bench/results/metricslib.txt): a
// scrape of these families costs about a third of the time and of the
// allocations, and it adds 4 modules to a user's module graph instead of
// 32 (and 0.5 MB to a binary instead of 4.2 MB). An application that
// already runs a client_golang registry serves this handler beside its
// own, or sets NoProcessMetrics to keep one copy of go_* and process_*.
//
// It imports sio and engine (their public API only) and the metrics
// library; nothing in fanio imports it.
package metrics
