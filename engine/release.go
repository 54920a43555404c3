package engine

import (
	"runtime/debug"
	"time"
)

// Returning freed memory to the OS. The Go runtime keeps the memory a
// crowd of sessions used after they leave: on an idle server no garbage
// collection runs for two minutes, and the scavenger then returns the
// pages slowly. Measured (bench/battery release): 8,000 WebSockets that
// held a backlog each, then left, kept 51 MB of 61 MB RSS for 60 s and
// 45 MB after 120 s; with FreeOSMemory after the drop, RSS is back near
// its starting 10 MB within seconds.

const (
	releaseEvery = time.Minute // at most one release a minute
	releaseMin   = 1000        // sessions gone before a release is worth it
)

// releaseCheck is how often the session count is looked at (a variable
// for the tests).
var releaseCheck = 10 * time.Second

// startMemoryRelease starts, once, the watch that returns memory to the OS
// after the number of sessions fell by half (and by at least releaseMin).
func (s *Server) startMemoryRelease() {
	if s.opts.NoMemoryRelease {
		return
	}
	s.releaseOnce.Do(func() {
		s.releaseStop = make(chan struct{})
		go s.watchMemory(s.releaseStop)
	})
}

func (s *Server) watchMemory(stop <-chan struct{}) {
	t := time.NewTicker(releaseCheck)
	defer t.Stop()
	high, last := 0, time.Time{}
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		n := s.sessions.count()
		high = max(high, n)
		if drop := high - n; drop >= releaseMin && drop >= high/2 && time.Since(last) >= releaseEvery {
			debug.FreeOSMemory()
			s.stats.memReleases.Add(1)
			high, last = n, time.Now()
		}
	}
}

// stopMemoryRelease ends the watch (Shutdown).
func (s *Server) stopMemoryRelease() {
	s.releaseOnce.Do(func() {}) // none may start after this
	if s.releaseStop != nil {
		close(s.releaseStop)
	}
}
