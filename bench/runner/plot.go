package runner

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/fanio/fanio/bench/loadgen"
)

var runColors = map[string]color.Color{
	"node":     color.RGBA{R: 0x3c, G: 0x87, B: 0x3a, A: 0xff},
	"go-1core": color.RGBA{R: 0x00, G: 0x7d, B: 0x9c, A: 0xff},
	"go-2core": color.RGBA{R: 0xd6, G: 0x5f, B: 0x00, A: 0xff},
}

func runColor(name string) color.Color {
	if c, ok := runColors[name]; ok {
		return c
	}
	return color.Black
}

func addLine(p *plot.Plot, name string, pts plotter.XYs, c color.Color, dashed bool) error {
	if len(pts) == 0 {
		return nil
	}
	l, s, err := plotterLinePoints(pts)
	if err != nil {
		return err
	}
	l.Color, s.Color = c, c
	l.Width = vg.Points(1.5)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		s.Shape = draw.TriangleGlyph{}
	} else {
		s.Shape = draw.CircleGlyph{}
	}
	p.Add(l, s)
	p.Legend.Add(name, l, s)
	return nil
}

func plotterLinePoints(pts plotter.XYs) (*plotter.Line, *plotter.Scatter, error) {
	l, err := plotter.NewLine(pts)
	if err != nil {
		return nil, nil, err
	}
	s, err := plotter.NewScatter(pts)
	if err != nil {
		return nil, nil, err
	}
	return l, s, nil
}

// WritePlots draws RSS vs sockets (bare and real-application sockets),
// server CPU per message (user and system) and latency vs offered load
// (fanout and echo) for every server run into dir; it returns the files
// written.
func WritePlots(r *Results, dir string) ([]string, error) {
	var files []string

	// RSS vs sockets.
	p := plot.New()
	p.Title.Text = "Server RSS vs idle WebSocket sockets"
	p.X.Label.Text = "connected sockets"
	p.Y.Label.Text = "RSS (MiB)"
	p.Y.Min = 0
	p.Legend.Top, p.Legend.Left = true, true
	n := 0
	for _, run := range r.Runs {
		if run.Skipped != "" || run.Density == nil {
			continue
		}
		pts := plotter.XYs{{X: 0, Y: float64(run.Density.BaselineRSS) / (1 << 20)}}
		for _, s := range run.Density.Steps {
			pts = append(pts, plotter.XY{X: float64(s.Connected), Y: float64(s.RSSBytes) / (1 << 20)})
		}
		if err := addLine(p, run.Label, pts, runColor(run.Name), false); err != nil {
			return files, err
		}
		n++
		if a := run.AppDensity; a != nil && len(a.Steps) > 0 {
			pts := plotter.XYs{{X: 0, Y: float64(a.BaselineRSS) / (1 << 20)}}
			for _, s := range a.Steps {
				pts = append(pts, plotter.XY{X: float64(s.Connected), Y: float64(s.RSSBytes) / (1 << 20)})
			}
			if err := addLine(p, run.Label+", real application (-app)", pts, runColor(run.Name), true); err != nil {
				return files, err
			}
		}
	}
	if n > 0 {
		f := filepath.Join(dir, "rss_vs_sockets.png")
		if err := p.Save(7*vg.Inch, 4.5*vg.Inch, f); err != nil {
			return files, err
		}
		files = append(files, f)
	}

	latencyPlot := func(file, title, xlabel string, get func(*ServerRun) []loadgen.LoadStep) error {
		p := plot.New()
		p.Title.Text = title
		p.X.Label.Text = xlabel
		p.Y.Label.Text = "latency (ms, log scale)"
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = ticks125{}
		p.Legend.Top, p.Legend.Left = false, false
		p.Legend.YOffs = vg.Points(10)
		n := 0
		for _, run := range r.Runs {
			if run.Skipped != "" {
				continue
			}
			steps := get(&run)
			var p50, p99 plotter.XYs
			for _, s := range steps {
				if s.Mode != "rate" || s.Latency.Count == 0 {
					continue
				}
				x := s.OfferedDeliveries
				p50 = append(p50, plotter.XY{X: x, Y: max(s.Latency.P50Us/1000, 0.001)})
				p99 = append(p99, plotter.XY{X: x, Y: max(s.Latency.P99Us/1000, 0.001)})
			}
			if len(p50) == 0 {
				continue
			}
			if err := addLine(p, run.Label+" p50", p50, runColor(run.Name), false); err != nil {
				return err
			}
			if err := addLine(p, run.Label+" p99", p99, runColor(run.Name), true); err != nil {
				return err
			}
			n++
		}
		if n == 0 {
			return nil
		}
		f := filepath.Join(dir, file)
		if err := p.Save(7*vg.Inch, 4.5*vg.Inch, f); err != nil {
			return err
		}
		files = append(files, f)
		return nil
	}
	// Server CPU per message, user (solid) and system (dashed).
	cpuPlot := func(file, title, xlabel, ylabel string, get func(*ServerRun) []loadgen.LoadStep) error {
		p := plot.New()
		p.Title.Text = title
		p.X.Label.Text = xlabel
		p.Y.Label.Text = ylabel
		p.Y.Min = 0
		p.Legend.Top, p.Legend.Left = true, false
		n := 0
		for _, run := range r.Runs {
			if run.Skipped != "" {
				continue
			}
			var user, sys plotter.XYs
			for _, s := range get(&run) {
				if s.Mode != "rate" || s.ServerCPUPerMillion == (loadgen.CPU{}) {
					continue
				}
				x := s.OfferedDeliveries
				user = append(user, plotter.XY{X: x, Y: s.ServerCPUPerMillion.User})
				sys = append(sys, plotter.XY{X: x, Y: s.ServerCPUPerMillion.Sys})
			}
			if len(user) == 0 {
				continue
			}
			if err := addLine(p, run.Label+" user", user, runColor(run.Name), false); err != nil {
				return err
			}
			if err := addLine(p, run.Label+" system", sys, runColor(run.Name), true); err != nil {
				return err
			}
			n++
		}
		if n == 0 {
			return nil
		}
		f := filepath.Join(dir, file)
		if err := p.Save(7*vg.Inch, 4.5*vg.Inch, f); err != nil {
			return err
		}
		files = append(files, f)
		return nil
	}
	fanoutSteps := func(s *ServerRun) []loadgen.LoadStep {
		if s.Fanout == nil {
			return nil
		}
		return s.Fanout.Steps
	}
	echoSteps := func(s *ServerRun) []loadgen.LoadStep {
		if s.Echo == nil {
			return nil
		}
		return s.Echo.Steps
	}
	if err := cpuPlot("fanout_cpu_vs_load.png", fmt.Sprintf("Room broadcast: server CPU per delivery (%s mode)", r.Mode), "offered deliveries / s", "server CPU-s per million deliveries", fanoutSteps); err != nil {
		return files, err
	}
	if err := cpuPlot("echo_cpu_vs_load.png", fmt.Sprintf("Echo with ack: server CPU per round trip (%s mode)", r.Mode), "offered emits / s", "server CPU-s per million acks", echoSteps); err != nil {
		return files, err
	}
	if err := latencyPlot("fanout_latency_vs_load.png", fmt.Sprintf("Room broadcast: delivery latency vs offered load (%s mode)", r.Mode), "offered deliveries / s",
		func(s *ServerRun) []loadgen.LoadStep {
			if s.Fanout == nil {
				return nil
			}
			return s.Fanout.Steps
		}); err != nil {
		return files, err
	}
	if err := latencyPlot("echo_latency_vs_load.png", fmt.Sprintf("Echo with ack: round trip vs offered load (%s mode)", r.Mode), "offered emits / s",
		func(s *ServerRun) []loadgen.LoadStep {
			if s.Echo == nil {
				return nil
			}
			return s.Echo.Steps
		}); err != nil {
		return files, err
	}
	return files, nil
}

// ticks125 labels a log axis at 1, 2 and 5 times powers of ten.
type ticks125 struct{}

func (ticks125) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	if lo <= 0 {
		lo = 1e-3
	}
	p := math.Pow(10, math.Floor(math.Log10(lo)))
	for ; p <= hi*10; p *= 10 {
		for _, m := range []float64{1, 2, 5} {
			v := p * m
			if v < lo || v > hi {
				continue
			}
			out = append(out, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', 3, 64)})
		}
		for m := 1.0; m < 10; m++ {
			if v := p * m; v >= lo && v <= hi && m != 1 && m != 2 && m != 5 {
				out = append(out, plot.Tick{Value: v})
			}
		}
	}
	if len(out) < 2 { // narrow range: plain labels at the ends
		out = append(out, plot.Tick{Value: lo, Label: strconv.FormatFloat(lo, 'g', 3, 64)}, plot.Tick{Value: hi, Label: strconv.FormatFloat(hi, 'g', 3, 64)})
	}
	return out
}
