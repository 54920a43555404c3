package sio

import (
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// recoveryStore keeps, for connection state recovery, the recent
// broadcasts (with their offsets) and the sessions of sockets that
// disconnected, for MaxDisconnectionDuration.
type recoveryStore struct {
	max time.Duration
	gen *offsetGen

	// gate orders recorded broadcasts (read) against restores (write):
	// see InMemoryAdapter.Broadcast and restoreInto.
	gate sync.RWMutex

	mu       sync.Mutex
	packets  []recPacket // oldest first; seq increasing
	sessions map[string]*PersistedSession
	persists int
}

type recPacket struct {
	seq    uint64
	rooms  []Room
	except []Room
	p      *Packet
	at     time.Time
}

func newRecoveryStore(max time.Duration, gen *offsetGen) *recoveryStore {
	return &recoveryStore{max: max, gen: gen, sessions: make(map[string]*PersistedSession)}
}

// record gives p an offset (appended as its last argument), keeps it, and
// returns the packet to send.
func (r *recoveryStore) record(p *Packet, opts *BroadcastOptions) *Packet {
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	seq := r.gen.seq.Add(1)
	q := p.withOffset(r.gen.prefix + strconv.FormatUint(seq, 36))
	r.packets = append(r.packets, recPacket{
		seq:    seq,
		rooms:  append([]Room(nil), opts.Rooms...),
		except: append([]Room(nil), opts.Except...),
		p:      q,
		at:     now,
	})
	r.pruneLocked(now)
	return q
}

// pruneLocked drops the packets older than max.
func (r *recoveryStore) pruneLocked(now time.Time) {
	limit := now.Add(-r.max)
	k := sort.Search(len(r.packets), func(i int) bool { return r.packets[i].at.After(limit) })
	if k == 0 {
		return
	}
	clear(r.packets[:k])
	r.packets = r.packets[k:]
	if cap(r.packets) > 64 && len(r.packets) < cap(r.packets)/4 {
		r.packets = append([]recPacket(nil), r.packets...)
	}
}

func (r *recoveryStore) persist(s *PersistedSession) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sessions[s.PID] = s
	r.persists++
	if r.persists%256 == 0 {
		limit := time.Now().Add(-r.max)
		for pid, x := range r.sessions {
			if x.DisconnectedAt.Before(limit) {
				delete(r.sessions, pid)
			}
		}
	}
}

// restore returns the session pid and what it missed after offset, or nil
// (unknown or expired session, unknown offset).
func (r *recoveryStore) restore(pid, offset string, now time.Time) *RestoredSession {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.sessions[pid]
	if s == nil {
		return nil
	}
	delete(r.sessions, pid)
	if s.DisconnectedAt.Add(r.max).Before(now) {
		return nil
	}
	r.pruneLocked(now)
	seq, ok := r.seqOf(offset)
	if !ok {
		return nil
	}
	i := sort.Search(len(r.packets), func(i int) bool { return r.packets[i].seq >= seq })
	if i == len(r.packets) || r.packets[i].seq != seq {
		return nil
	}
	return &RestoredSession{PersistedSession: *s, MissedPackets: r.missedLocked(s.Rooms, seq)}
}

// seqOf parses an offset this store made.
func (r *recoveryStore) seqOf(offset string) (uint64, bool) {
	if !strings.HasPrefix(offset, r.gen.prefix) {
		return 0, false
	}
	seq, err := strconv.ParseUint(offset[len(r.gen.prefix):], 36, 64)
	return seq, err == nil
}

// missedSince returns the packets after offset that reach a session in
// rooms.
func (r *recoveryStore) missedSince(rooms []Room, offset string) []*Packet {
	seq, ok := r.seqOf(offset)
	if !ok {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.missedLocked(rooms, seq)
}

func (r *recoveryStore) missedLocked(rooms []Room, seq uint64) []*Packet {
	i := sort.Search(len(r.packets), func(i int) bool { return r.packets[i].seq > seq })
	var out []*Packet
	for _, rp := range r.packets[i:] {
		if shouldInclude(rooms, rp.rooms, rp.except) {
			out = append(out, rp.p)
		}
	}
	return out
}

// shouldInclude: a packet for rooms (all when empty) except except reaches
// a session in sessionRooms.
func shouldInclude(sessionRooms, rooms, except []Room) bool {
	included := len(rooms) == 0
	for _, sr := range sessionRooms {
		for _, r := range except {
			if r == sr {
				return false
			}
		}
		if !included {
			for _, r := range rooms {
				if r == sr {
					included = true
					break
				}
			}
		}
	}
	return included
}
