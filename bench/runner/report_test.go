package runner

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fanio/fanio/bench/loadgen"
)

func sampleResults() *Results {
	return &Results{Date: "2026-01-01T00:00:00Z", Mode: "quick", CommandLine: "fanio-bench all -quick",
		Profile: QuickProfile(),
		Runs: []ServerRun{
			{Name: "node", Label: "Node", Density: &loadgen.DensityResult{BaselineRSS: 50 << 20, Steps: []loadgen.DensityStep{{Sockets: 1000, Connected: 1000, RSSBytes: 70 << 20, BytesPerSocket: 20 << 10}}},
				Fanout: &loadgen.FanoutResult{Subscribers: 1000, Steps: []loadgen.LoadStep{{Mode: "rate", OfferedRate: 10, OfferedDeliveries: 10000, PerSec: 10000, ServerCPUPerM: 8, Latency: loadgen.Latency{Count: 1, P50Us: 500, P99Us: 2000, P999Us: 3000}}}}},
			{Name: "go-1core", Label: "fanio", Density: &loadgen.DensityResult{BaselineRSS: 10 << 20, Steps: []loadgen.DensityStep{{Sockets: 1000, Connected: 1000, RSSBytes: 15 << 20, BytesPerSocket: 5 << 10}}},
				Fanout: &loadgen.FanoutResult{Subscribers: 1000, Steps: []loadgen.LoadStep{{Mode: "rate", OfferedRate: 10, OfferedDeliveries: 10000, PerSec: 10000, ServerCPUPerM: 2, Latency: loadgen.Latency{Count: 1, P50Us: 100, P99Us: 500, P999Us: 900}, OtherCPUUtil: 0.5}}}},
			{Name: "go-2core", Skipped: "stub"},
		}}
}

func TestUpdateMarkdownKeepsSurroundingText(t *testing.T) {
	dir := t.TempDir()
	md := filepath.Join(dir, "BENCHMARKS.md")
	before := "# Title\n\nhand-written intro\n\n" + MarkBegin + "\nold table\n" + MarkEnd + "\n\nhand-written footer\n"
	if err := os.WriteFile(md, []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := UpdateMarkdown(md, sampleResults(), dir, nil); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(md)
	s := string(b)
	for _, want := range []string{"hand-written intro", "hand-written footer", "| 1000 | 70.0 | 20.0 | 15.0 | 5.0 | 0.25× |", "| 10/s | 10000 | 8.00 | 0.50 / 2.0 / 3.0 | 10000 | 2.00 | 0.10 / 0.50 / 0.90 | 0.25× | 0.25× |", "⚠ 0.50", "go-2core skipped"} {
		if !strings.Contains(s, want) {
			t.Fatalf("missing %q in:\n%s", want, s)
		}
	}
	if strings.Contains(s, "old table") || strings.Count(s, MarkEnd) != 1 {
		t.Fatalf("old generated part kept:\n%s", s)
	}
	// A second run replaces, does not append.
	if err := UpdateMarkdown(md, sampleResults(), dir, nil); err != nil {
		t.Fatal(err)
	}
	b2, _ := os.ReadFile(md)
	if string(b2) != s {
		t.Fatal("regeneration is not idempotent")
	}
	// A fresh file gets the introduction and markers.
	fresh := filepath.Join(dir, "new.md")
	if err := UpdateMarkdown(fresh, sampleResults(), dir, nil); err != nil {
		t.Fatal(err)
	}
	b3, _ := os.ReadFile(fresh)
	if !strings.HasPrefix(string(b3), "# fanio benchmarks") || !strings.Contains(string(b3), MarkEnd) {
		t.Fatalf("fresh file:\n%s", b3)
	}
}

func TestParseCPUList(t *testing.T) {
	got := parseCPUList("0,2-4")
	if len(got) != 4 || got[0] != 0 || got[3] != 4 {
		t.Fatalf("%v", got)
	}
}
