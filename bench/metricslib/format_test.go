package metricslib

import (
	"context"
	"net/http/httptest"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/fanio/fanio/metrics"
	"github.com/fanio/fanio/sio"
)

// fanio's /metrics output is parsed by Prometheus's own text parser: every
// family well-formed and of the type it declares, the histogram complete.
func TestExpositionParsesWithPrometheus(t *testing.T) {
	srv := sio.NewServer(sio.Options{})
	defer srv.Shutdown(context.Background())
	srv.Of(`/odd "name"\`)
	rec := httptest.NewRecorder()
	metrics.Handler(srv, metrics.Options{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("Prometheus cannot parse the exposition: %v", err)
	}
	want := map[string]dto.MetricType{
		"fanio_engine_sessions":          dto.MetricType_GAUGE,
		"fanio_handshakes_refused_total": dto.MetricType_COUNTER,
		"fanio_packets_sent_total":       dto.MetricType_COUNTER,
		"fanio_sockets":                  dto.MetricType_GAUGE,
		"fanio_handler_duration_seconds": dto.MetricType_HISTOGRAM,
		"fanio_deliveries_total":         dto.MetricType_COUNTER,
		"fanio_acks_pending":             dto.MetricType_GAUGE,
	}
	for name, typ := range want {
		f, ok := fams[name]
		if !ok {
			t.Errorf("family %s missing", name)
			continue
		}
		if f.GetType() != typ {
			t.Errorf("%s is a %v, want %v", name, f.GetType(), typ)
		}
	}
	h := fams["fanio_handler_duration_seconds"].GetMetric()
	if len(h) != 3 || len(h[0].GetHistogram().GetBucket()) != len(sio.HandlerDurationBounds)+1 {
		t.Errorf("handler histogram: %v", h)
	}
	found := false
	for _, m := range fams["fanio_sockets"].GetMetric() {
		if m.GetLabel()[0].GetValue() == `/odd "name"\` {
			found = true
		}
	}
	if !found {
		t.Errorf("a namespace name with quotes and a backslash did not survive the escaping")
	}
	if _, ok := fams["go_goroutines"]; !ok {
		t.Errorf("no Go runtime metrics")
	}
}
