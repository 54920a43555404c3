package eventloop

import "runtime"

// reserveProcs applies Options.SpareProc for n reactor loops and reports
// whether the loops must yield their P after each batch of traffic.
//
// Without a spare P, a loop gives its P to the goroutines it readied
// (handlers) after each batch: a loop yields too before it blocks in the
// poller, but runtime.Gosched picks the loop itself again about once in 61
// times (the scheduler's fairness check of the global queue), and the
// handlers then waited, P-less, for the next network event — the 1.3 ms
// p99 of a trace at 1000 round trips/s.
func reserveProcs(s *Server, n int) (yield bool) {
	if procs := runtime.GOMAXPROCS(0); s.cfg.SpareProc && procs <= n {
		runtime.GOMAXPROCS(n + 1)
		s.cfg.Logger.Info("eventloop: raised GOMAXPROCS to keep a P spare from the reactors",
			"from", procs, "to", n+1, "reactors", n)
	}
	return runtime.GOMAXPROCS(0) <= n
}
