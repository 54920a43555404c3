package loadgen

import (
	"fmt"
	"time"
)

// BlockingParams configure the blocking-handler scenario.
type BlockingParams struct {
	Blockers int           // clients whose `block` handler blocks (default 500)
	Hold     time.Duration // how long each of those handlers blocks (default 2 s)
	Rate     float64       // the unrelated client's echo emits per second (default 200)
	Duration time.Duration // its measured window, started right after the blocking calls (default Hold/2)
	// Drain is how long the probe waits for its last acks, and the
	// blockers for theirs after Hold (default 10 s): a server whose
	// handlers wait behind blocked ones answers late or not at all.
	Drain       time.Duration
	Size        int
	Concurrency int
}

func (p *BlockingParams) defaults() {
	if p.Blockers <= 0 {
		p.Blockers = 500
	}
	if p.Hold <= 0 {
		p.Hold = 2 * time.Second
	}
	if p.Rate <= 0 {
		p.Rate = 200
	}
	if p.Duration <= 0 {
		p.Duration = p.Hold / 2
	}
	if p.Drain <= 0 {
		p.Drain = 10 * time.Second
	}
	if p.Size <= 0 {
		p.Size = 32
	}
}

// BlockingResult is the blocking-handler scenario's outcome.
type BlockingResult struct {
	Blockers  int     `json:"blockers"`
	HoldMs    int     `json:"hold_ms"`
	Rate      float64 `json:"probe_rate"`
	Connected int     `json:"blockers_connected"`
	// Idle is the unrelated client's echo round trip with no handler
	// blocked; Blocked the same while the blockers' handlers block.
	Idle    LoadStep `json:"idle"`
	Blocked LoadStep `json:"blocked"`
	// BlockCalls are the blocking calls' own round trips (ideally Hold
	// each: the server runs them all at once), BlockDone how many were
	// acknowledged within Hold + Drain.
	BlockCalls Latency  `json:"block_calls"`
	BlockSent  int64    `json:"block_sent"`
	BlockDone  int64    `json:"block_done"`
	Errors     []string `json:"errors,omitempty"`
}

// Blocking connects Blockers clients and one unrelated probe client. The
// probe emits `echo` with an ack at Rate for Duration, first alone
// (idle), then right after every blocker emitted block(Hold), whose
// handler blocks (a Go handler sleeps; Node's awaits a timer) before it
// acks. The probe's round trips while they block show whether a blocked
// handler holds back other connections.
func Blocking(e *Env, p BlockingParams) (*BlockingResult, error) {
	p.defaults()
	// Worker 0 holds the probe alone, so its histogram is the probe's.
	cl, err := e.cluster(p.Blockers+1, 1, 2)
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	stop := e.progress(cl)
	defer stop()
	res := &BlockingResult{Blockers: p.Blockers, HoldMs: int(p.Hold / time.Millisecond), Rate: p.Rate}
	e.setPhase("blocking: connecting")
	counts := append([]int{1}, spread(p.Blockers, cl.Size()-1)...)
	ok, failed, err := connectAll(cl, counts, Command{Transport: "websocket", Role: "echo", Concurrency: p.Concurrency})
	res.Connected = ok - 1
	e.logf("blocking: %d blockers and the probe connected (%d failed)", res.Connected, failed)
	if err != nil || ok < 2 {
		s, _, _ := cl.Snapshot()
		return res, fmt.Errorf("blocking clients: %v %v", err, s.ErrSample)
	}
	probe := func(st *LoadStep) error {
		st.Mode, st.OfferedRate, st.OfferedDeliveries = "rate", p.Rate, p.Rate
		rep, err := cl.One(0, Command{Op: "echo", Rate: p.Rate, DurationMs: int(p.Duration / time.Millisecond), Size: p.Size,
			TimeoutMs: int(p.Drain / time.Millisecond)}, p.Duration+p.Drain+time.Minute)
		st.Sent, st.Expected = rep.Sent, rep.Sent
		_, per, _ := cl.Snapshot()
		if len(per) > 0 {
			s := per[0]
			st.Delivered, st.Lost = s.Recv, max(st.Sent-s.Recv, 0)
			st.Seconds = float64(rep.EndNs-rep.StartNs) / 1e9
			if st.Seconds > 0 {
				st.PerSec = float64(s.Recv) / st.Seconds
			}
			st.Latency, st.Errors, st.ErrSample = s.Hist.Summary(), s.Errors, s.ErrSample
		}
		return err
	}

	e.setPhase("blocking: probe alone")
	e.waitServerIdle(10 * time.Second)
	if err := cl.Reset(); err != nil {
		return res, err
	}
	if err := probe(&res.Idle); err != nil {
		res.Errors = append(res.Errors, "idle probe: "+err.Error())
	}

	e.setPhase(fmt.Sprintf("blocking: %d handlers blocked", p.Blockers))
	e.waitServerIdle(10 * time.Second)
	if err := cl.Reset(); err != nil {
		return res, err
	}
	win := e.startWindow()
	reps, err := cl.Each(func(i int) *Command {
		if i == 0 || counts[i] == 0 {
			return nil
		}
		return &Command{Op: "block", HoldMs: res.HoldMs}
	}, time.Minute)
	for _, r := range reps {
		res.BlockSent += r.Sent
	}
	if err != nil {
		res.Errors = append(res.Errors, "block: "+err.Error())
	}
	if err := probe(&res.Blocked); err != nil {
		res.Errors = append(res.Errors, "blocked probe: "+err.Error())
	}
	// The blocking calls' acks: all due Hold after they were sent.
	deadline := time.Now().Add(p.Hold + p.Drain)
	var blockers Stats
	for {
		_, per, _ := cl.Snapshot()
		blockers = Stats{}
		for _, s := range per[1:] {
			blockers.Recv += s.Recv
			blockers.CPUUserUs += s.CPUUserUs
			blockers.CPUSysUs += s.CPUSysUs
			blockers.Hist.Merge(s.Hist)
			blockers.ErrSample = append(blockers.ErrSample, s.ErrSample...)
		}
		if blockers.Recv >= res.BlockSent || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	all, _, _ := cl.Snapshot()
	split, other := win.end(float64(all.CPUUserUs+all.CPUSysUs) / 1e6)
	res.Blocked.ServerCPU, res.Blocked.ServerCPUSeconds, res.Blocked.OtherCPUUtil = split, split.Total(), other
	res.BlockDone, res.BlockCalls = blockers.Recv, blockers.Hist.Summary()
	res.Errors = append(res.Errors, blockers.ErrSample...)
	e.logf("blocking: probe alone p50 %.2fms p99 %.2fms; while %d handlers block %v: %d/%d acked, p50 %.2fms p99 %.2fms max %.0fms; blocking calls %d/%d done, p50 %.2fs p99 %.2fs; server %.2f user + %.2f sys CPU-s%s",
		res.Idle.Latency.P50Us/1e3, res.Idle.Latency.P99Us/1e3, res.BlockSent, p.Hold, res.Blocked.Delivered, res.Blocked.Sent,
		res.Blocked.Latency.P50Us/1e3, res.Blocked.Latency.P99Us/1e3, res.Blocked.Latency.MaxUs/1e3,
		res.BlockDone, res.BlockSent, res.BlockCalls.P50Us/1e6, res.BlockCalls.P99Us/1e6, split.User, split.Sys, otherNote(other))
	return res, nil
}
