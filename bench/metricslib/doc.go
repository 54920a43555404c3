// Package metricslib measures the two Prometheus libraries fanio could
// publish its metrics with — github.com/prometheus/client_golang and
// github.com/VictoriaMetrics/metrics — on what matters for a server library:
// the cost of a scrape (time and allocations for fanio's metric families,
// about 130 series, with each library's Go runtime and process metrics),
// the cost of recording on the message path (a counter increment from many
// goroutines, against fanio's own per-cell atomics), and what each adds to
// a user's module graph and binary (see results/metricslib.txt for the
// commands and numbers).
//
//	go test -run XXX -bench . -benchmem ./bench/metricslib
//
// The exporters here write the same families from the same sio.Stats,
// each the idiomatic way of its library: a prometheus.Collector of const
// metrics gathered by a Registry and encoded by promhttp; a
// metrics.Set writer callback writing text lines.
package metricslib
