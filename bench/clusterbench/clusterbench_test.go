package clusterbench

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fanio/fanio/bench/runner"
)

// TestSmoke runs the whole instrument, tiny (a few seconds per kind),
// against two fanio nodes and two Node nodes on a private Redis, in both
// protocols, and checks every step delivered and the report renders.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test skipped in -short mode")
	}
	root := runner.FindRoot(".")
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is not installed")
	}
	for _, sharded := range []bool{false, true} {
		res, err := Run(Options{Root: root, Sharded: sharded, Subscribers: 20, Rates: []float64{20}, SatRate: 500, Duration: 500 * time.Millisecond,
			NoPin: true, InProc: true, IdleSample: 200 * time.Millisecond, WaitQuiet: -1, Logf: t.Logf})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Servers) != 2 {
			t.Fatalf("%d server kinds", len(res.Servers))
		}
		for _, s := range res.Servers {
			// On a loaded machine a fixed-rate step may fall behind and
			// end the fixed rates; the saturation step always runs.
			sat := s.saturation()
			if len(s.Errors) > 0 || len(s.Steps) < 2 || sat == nil {
				t.Fatalf("%s: %d steps, errors %v", s.Server, len(s.Steps), s.Errors)
			}
			for _, st := range s.Steps {
				// CPU comes from /proc in clock ticks (10 ms): a short
				// fixed-rate step may honestly measure 0; only a negative
				// figure is wrong there. The saturation step must show CPU.
				if st.Sent == 0 || st.Delivered == 0 || st.Latency.Count == 0 || st.BCPUPerM < 0 {
					t.Errorf("%s %s: %+v", s.Server, st.Path, st)
				}
			}
			if sat.BCPUPerM <= 0 {
				t.Errorf("%s saturation: no CPU measured on the receiving node: %+v", s.Server, *sat)
			}
			if sat.Delivered != sat.Expected {
				t.Errorf("%s saturation: %d of %d delivered", s.Server, sat.Delivered, sat.Expected)
			}
		}
		md := res.Markdown("x.json")
		if !strings.Contains(md, "| 20 | cross |") || !strings.Contains(md, "| saturation | cross |") || !strings.Contains(md, "Targets (cross path)") || !strings.Contains(md, "deliveries per CPU-second") {
			t.Errorf("markdown:\n%s", md)
		}
		f := filepath.Join(t.TempDir(), "B.md")
		os.WriteFile(f, []byte("# x\n"), 0o644)
		if err := UpdateMarkdown(f, res.Protocol, md); err != nil {
			t.Fatal(err)
		}
		if err := UpdateMarkdown(f, res.Protocol, md); err != nil {
			t.Fatal(err)
		}
		if err := UpdateMarkdown(f, "other", md); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(f)
		if strings.Count(string(b), markBegin(res.Protocol)) != 1 || strings.Count(string(b), markBegin("other")) != 1 {
			t.Errorf("the section was not replaced in place:\n%s", b)
		}
	}
}
