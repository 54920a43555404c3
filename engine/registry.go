package engine

import (
	"hash/maphash"
	"sync"

	"github.com/fanio/fanio/internal/idtable"
)

const registryShards = 32

// registry maps session ids to sessions, sharded so that lookups from many
// loops do not contend on one lock. Each shard is an idtable.Table (about
// 14 bytes per session, a Go map ~44).
type registry struct {
	seed   maphash.Seed
	shards [registryShards]struct {
		mu sync.RWMutex
		t  *idtable.Table[Session]
	}
}

func sessionID(s *Session) string { return s.id }

func newRegistry() *registry {
	r := &registry{seed: maphash.MakeSeed()}
	for i := range r.shards {
		r.shards[i].t = idtable.New(sessionID)
	}
	return r
}

func (r *registry) shard(id []byte) int {
	return int(maphash.Bytes(r.seed, id) % registryShards)
}

func (r *registry) shardOf(id string) int {
	return int(maphash.String(r.seed, id) % registryShards)
}

func (r *registry) get(id []byte) *Session {
	sh := &r.shards[r.shard(id)]
	sh.mu.RLock()
	s := sh.t.GetBytes(id)
	sh.mu.RUnlock()
	return s
}

func (r *registry) add(s *Session) {
	sh := &r.shards[r.shardOf(s.id)]
	sh.mu.Lock()
	sh.t.Put(s)
	sh.mu.Unlock()
}

func (r *registry) remove(s *Session) {
	sh := &r.shards[r.shardOf(s.id)]
	sh.mu.Lock()
	sh.t.Delete(s)
	sh.mu.Unlock()
}

func (r *registry) count() int {
	n := 0
	for i := range r.shards {
		sh := &r.shards[i]
		sh.mu.RLock()
		n += sh.t.Len()
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
		sh.t.All(func(s *Session) bool {
			out = append(out, s)
			return true
		})
		sh.mu.RUnlock()
	}
	return out
}
