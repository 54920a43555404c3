package sio

import (
	"hash/maphash"
	"sync"
	"time"

	"github.com/fanio/fanio/internal/timer"
)

// connectWatch closes the connections that join no namespace within
// Options.ConnectTimeout.
//
// Every connection has the same timeout, so they need no timer each (a
// timer and its closure were 64 bytes per connection, garbage as soon as
// it joined, in the size classes of long-lived state). A waiting
// connection is put in the bucket of its arrival time, a tenth of the
// timeout wide; one timer per shard, armed while a connection waits,
// closes the connections still idle in each bucket once the bucket's last
// arrival has waited the timeout. So a connection is closed between the
// timeout and 1.1 times the timeout after it opened; the reference's is a
// timer per connection. A connection leaves its bucket as soon as it joins
// or closes: nothing is kept for it afterwards.
type connectWatch struct {
	timeout time.Duration
	width   time.Duration // of a bucket
	epoch   time.Time
	seed    maphash.Seed // a client's shard is the hash of its address
	shards  [connectShards]connectShard
}

const (
	connectShards = 8
	// connectBuckets spans the timeout (10 bucket widths) and the bucket
	// being filled, with room to spare; a client keeps its bucket in a
	// byte (client.wait).
	connectBuckets = 16
)

type connectShard struct {
	w       *connectWatch
	timers  *timer.Wheel
	mu      sync.Mutex
	buckets [connectBuckets]map[*client]struct{}
	oldest  int64 // absolute index of the oldest bucket that may hold clients
	armed   bool
	timer   timer.Timer
}

func (w *connectWatch) init(timeout time.Duration, timers *timer.Wheel) {
	w.timeout = timeout
	w.width = max(timeout/10, time.Millisecond)
	w.epoch = time.Now()
	w.seed = maphash.MakeSeed()
	for i := range w.shards {
		sh := &w.shards[i]
		sh.w, sh.timers = w, timers
		timers.Init(&sh.timer, func(*timer.Timer) { sh.sweep() })
	}
}

// bucketAt is the absolute index of the bucket of time t.
func (w *connectWatch) bucketAt(t time.Time) int64 { return int64(t.Sub(w.epoch) / w.width) }

// dueIn is how long from now until the clients of bucket b have all waited
// the timeout.
func (w *connectWatch) dueIn(b int64, now time.Time) time.Duration {
	end := w.epoch.Add(time.Duration(b+1) * w.width)
	return end.Add(w.timeout).Sub(now)
}

func (w *connectWatch) shard(c *client) *connectShard {
	return &w.shards[maphash.Comparable(w.seed, c)%connectShards]
}

// add starts watching c.
func (w *connectWatch) add(c *client) {
	sh := w.shard(c)
	now := time.Now()
	b := w.bucketAt(now)
	slot := int(b % connectBuckets)
	sh.mu.Lock()
	if sh.buckets[slot] == nil {
		sh.buckets[slot] = make(map[*client]struct{})
	}
	sh.buckets[slot][c] = struct{}{}
	c.wait = uint8(slot) + 1
	if !sh.armed {
		sh.armed = true
		sh.oldest = b
		sh.timers.Reset(&sh.timer, w.dueIn(b, now))
	}
	sh.mu.Unlock()
}

// remove stops watching c (it joined a namespace, or closed).
func (w *connectWatch) remove(c *client) {
	sh := w.shard(c)
	sh.mu.Lock()
	if c.wait != 0 {
		delete(sh.buckets[c.wait-1], c)
		c.wait = 0
	}
	sh.mu.Unlock()
}

// sweep runs on the timer's goroutine: it closes the idle clients of every
// bucket that is due and re-arms for the next one that holds clients.
func (sh *connectShard) sweep() {
	w := sh.w
	var idle []*client
	sh.mu.Lock()
	now := time.Now()
	cur := w.bucketAt(now)
	b := sh.oldest
	for ; b <= cur; b++ {
		m := sh.buckets[b%connectBuckets]
		if len(m) == 0 {
			continue
		}
		if w.dueIn(b, now) > 0 {
			break
		}
		for c := range m {
			c.wait = 0
			idle = append(idle, c)
		}
		clear(m)
	}
	sh.oldest = b
	sh.armed = false
	for ; b <= cur; b++ {
		if len(sh.buckets[b%connectBuckets]) > 0 {
			sh.oldest = b
			sh.armed = true
			sh.timers.Reset(&sh.timer, w.dueIn(b, now))
			break
		}
	}
	sh.mu.Unlock()
	for _, c := range idle {
		c.onConnectTimeout()
	}
}
