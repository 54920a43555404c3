package main

import (
	"bytes"
	"strconv"
	"sync"
	"time"

	"github.com/fanio/fanio/bench/loadgen"
)

// canary is an unrelated, well-behaved client: it emits an echo with an
// acknowledgement every interval and records each round trip.
type canary struct {
	w    *wsClient
	hist loadgen.Histogram

	mu      sync.Mutex
	pending map[int]time.Time
	sent    int
	err     error
	stop    chan struct{}
	done    chan struct{}
}

func startCanary(addr string, every time.Duration) (*canary, error) {
	w, err := dialWS(addr, 0)
	if err != nil {
		return nil, err
	}
	c := &canary{w: w, pending: make(map[int]time.Time), stop: make(chan struct{}), done: make(chan struct{})}
	go c.read()
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for id := 1; ; id++ {
			select {
			case <-c.stop:
				return
			case <-t.C:
			}
			c.mu.Lock()
			c.pending[id] = time.Now()
			c.sent++
			c.mu.Unlock()
			if err := w.send(echoPacket(id)); err != nil {
				c.fail(err)
				return
			}
		}
	}()
	return c, nil
}

func (c *canary) fail(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
}

func (c *canary) read() {
	defer close(c.done)
	for {
		p, err := c.w.next()
		if err != nil {
			select {
			case <-c.stop:
			default:
				c.fail(err)
			}
			return
		}
		if !bytes.HasPrefix(p, []byte("43")) {
			continue
		}
		end := bytes.IndexByte(p, '[')
		id, err := strconv.Atoi(string(p[2:max(2, end)]))
		if err != nil {
			continue
		}
		c.mu.Lock()
		if t, ok := c.pending[id]; ok {
			c.hist.Record(int64(time.Since(t)))
			delete(c.pending, id)
		}
		c.mu.Unlock()
	}
}

// finish stops the canary after a grace for the last answers and returns
// its round trips (ms) and how many were never answered.
func (c *canary) finish() (map[string]any, error) {
	time.Sleep(2 * time.Second)
	close(c.stop)
	c.w.close()
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	h := c.hist.Snapshot()
	s := h.Summary()
	return map[string]any{
		"canary_acks":       s.Count,
		"canary_unanswered": len(c.pending),
		"canary_p50_ms":     round(s.P50Us/1000, 2),
		"canary_p99_ms":     round(s.P99Us/1000, 2),
		"canary_max_ms":     round(s.MaxUs/1000, 2),
	}, c.err
}
