package engine

import (
	"sort"
	"time"
)

// SlowReaderPolicy says what happens to a session when a packet does not
// fit in its outbound budget (Options.MaxOutboundBytes).
type SlowReaderPolicy uint8

const (
	// CloseSlowReader closes the session (reason "transport error"): the
	// default, since a client that stays that far behind has lost track
	// anyway, and its packets would be late.
	CloseSlowReader SlowReaderPolicy = iota
	// DropVolatile first drops the session's queued volatile packets
	// (those sent with SendVolatile) to make room, and closes it only if
	// that is not enough: for streams of volatile updates (positions,
	// cursors) to clients on bad links.
	DropVolatile
)

// String returns the policy's name.
func (p SlowReaderPolicy) String() string {
	if p == DropVolatile {
		return "drop volatile"
	}
	return "close"
}

// checkTotal enforces Options.MaxOutboundBytesTotal after a send: past it,
// the sessions holding the most are closed, largest first.
func (s *Server) checkTotal() {
	if s == nil || s.total == nil || s.total.Load() <= int64(s.opts.MaxOutboundBytesTotal) {
		return
	}
	if !s.cutting.CompareAndSwap(false, true) {
		return
	}
	go s.cutWorst()
}

// cutWorst closes the sessions with the largest backlogs until the total is
// back under 7/8 of the budget (so that it does not run again at once),
// then waits, at most 200 ms, for their bytes to be released before
// another cut may start: their connections close on their loops, and
// cutting on a stale total would close more sessions than needed.
func (s *Server) cutWorst() {
	defer s.cutting.Store(false)
	limit := int64(s.opts.MaxOutboundBytesTotal)
	goal := limit - limit/8
	over := s.total.Load() - goal
	if over <= 0 {
		return
	}
	type candidate struct {
		s *Session
		n int
	}
	var cands []candidate
	for _, sess := range s.sessions.all() {
		if n := sess.Backlog(); n > 0 {
			cands = append(cands, candidate{sess, n})
		}
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].n > cands[j].n })
	for _, c := range cands {
		if over <= 0 {
			break
		}
		over -= int64(c.n)
		s.stats.budgetCuts.Add(1)
		c.s.closeSlowReader()
	}
	deadline := time.Now().Add(200 * time.Millisecond)
	for s.total.Load() > goal && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
}

// closeSlowReader ends the session at once, dropping its backlog
// (ReasonSlowReader).
func (s *Session) closeSlowReader() {
	s.mu.Lock()
	ws := s.ws
	isWS := s.state == stateOpen && s.kind == kindWebSocket
	s.mu.Unlock()
	if isWS {
		ws.CloseSlowReader() // its owner closes the session
		return
	}
	s.close(ReasonSlowReader)
}
