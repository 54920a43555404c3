package engine

import (
	"hash/maphash"
	"sync"
)

const registryShards = 32

// registry maps session ids to sessions, sharded so that lookups from many
// loops do not contend on one lock.
type registry struct {
	seed   maphash.Seed
	shards [registryShards]struct {
		mu sync.RWMutex
		m  map[string]*Session
	}
}

func newRegistry() *registry {
	r := &registry{seed: maphash.MakeSeed()}
	for i := range r.shards {
		r.shards[i].m = make(map[string]*Session)
	}
	return r
}

func (r *registry) shard(id []byte) int {
	return int(maphash.Bytes(r.seed, id) % registryShards)
}

func (r *registry) get(id []byte) *Session {
	sh := &r.shards[r.shard(id)]
	sh.mu.RLock()
	s := sh.m[string(id)]
	sh.mu.RUnlock()
	return s
}

func (r *registry) add(s *Session) {
	sh := &r.shards[r.shard([]byte(s.id))]
	sh.mu.Lock()
	sh.m[s.id] = s
	sh.mu.Unlock()
}

func (r *registry) remove(s *Session) {
	sh := &r.shards[r.shard([]byte(s.id))]
	sh.mu.Lock()
	if sh.m[s.id] == s {
		delete(sh.m, s.id)
	}
	sh.mu.Unlock()
}

func (r *registry) count() int {
	n := 0
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.RLock()
		n += len(sh.m)
		sh.mu.RUnlock()
	}
	return n
}

// all returns a snapshot of every session.
func (r *registry) all() []*Session {
	var out []*Session
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.RLock()
		for _, s := range sh.m {
			out = append(out, s)
		}
		sh.mu.RUnlock()
	}
	return out
}
