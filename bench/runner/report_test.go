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
				Fanout:     &loadgen.FanoutResult{Subscribers: 1000, Steps: []loadgen.LoadStep{{Mode: "rate", OfferedRate: 10, OfferedDeliveries: 10000, PerSec: 10000, ServerCPUPerM: 8, ServerCPUPerMillion: loadgen.CPU{User: 6, Sys: 2}, Latency: loadgen.Latency{Count: 1, P50Us: 500, P99Us: 2000, P999Us: 3000}}}},
				AppDensity: &loadgen.DensityResult{App: true, Steps: []loadgen.DensityStep{{Sockets: 1000, Connected: 1000, RSSBytes: 80 << 20, BytesPerSocket: 24 << 10, ServerCPU: loadgen.CPU{User: 0.2, Sys: 0.1}}}},
				Blocking: &loadgen.BlockingResult{Blockers: 500, Idle: loadgen.LoadStep{Latency: loadgen.Latency{Count: 200, P50Us: 300, P99Us: 900}},
					Blocked:   loadgen.LoadStep{Sent: 200, Delivered: 200, Latency: loadgen.Latency{Count: 200, P50Us: 400, P99Us: 1200, MaxUs: 1500}, ServerCPU: loadgen.CPU{User: 0.25, Sys: 0.05}},
					BlockSent: 500, BlockDone: 500, BlockCalls: loadgen.Latency{Count: 500, P50Us: 2.001e6, P99Us: 2.01e6}}},
			{Name: "go-1core", Label: "fanio", Density: &loadgen.DensityResult{BaselineRSS: 10 << 20, Steps: []loadgen.DensityStep{{Sockets: 1000, Connected: 1000, RSSBytes: 15 << 20, BytesPerSocket: 5 << 10}}},
				Fanout:     &loadgen.FanoutResult{Subscribers: 1000, Steps: []loadgen.LoadStep{{Mode: "rate", OfferedRate: 10, OfferedDeliveries: 10000, PerSec: 10000, ServerCPUPerM: 2, ServerCPUPerMillion: loadgen.CPU{User: 0.5, Sys: 1.5}, Latency: loadgen.Latency{Count: 1, P50Us: 100, P99Us: 500, P999Us: 900}, OtherCPUUtil: 0.5}}},
				AppDensity: &loadgen.DensityResult{App: true, Steps: []loadgen.DensityStep{{Sockets: 1000, Connected: 1000, RSSBytes: 12 << 20, BytesPerSocket: 1536, ServerCPU: loadgen.CPU{User: 0.02, Sys: 0.01}}}},
				Blocking: &loadgen.BlockingResult{Blockers: 500, Blocked: loadgen.LoadStep{Sent: 200, Delivered: 150, Latency: loadgen.Latency{Count: 150, P50Us: 250, P99Us: 4000, MaxUs: 9000}},
					BlockSent: 500, BlockDone: 80, BlockCalls: loadgen.Latency{Count: 80, P50Us: 6e6, P99Us: 12e6}}},
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
	for _, want := range []string{"hand-written intro", "hand-written footer", "| 1000 | 70.0 | 20.0 | 15.0 | 5.0 | 0.25× |", "| 10/s | 10000 | 6.00 / 2.00 | 0.50 / 2.0 / 3.0 | 10000 | 0.50 / 1.50 | 0.10 / 0.50 / 0.90 | 0.08× | 0.25× | 0.25× |", "⚠ 0.50", "go-2core skipped",
		"real application (density -app)", "| 1000 | 80.0 | 24.0 | 12.0 | 1.5 | 0.06× | — | — | 200 / 100 | 20 / 10 |",
		"| Node | 0.30 / 0.90 | 0.40 / 1.2 / 1.5 | 200 / 200 | 500 / 500 | 2.00 / 2.01 | 0.25 / 0.05 |",
		"| fanio | — | 0.25 / 4.0 / 9.0 | 150 / 200 | 80 / 500 | 6.00 / 12.00 | — |"} {
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
