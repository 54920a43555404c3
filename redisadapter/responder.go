package redisadapter

import (
	"context"
	"sync"

	"github.com/redis/rueidis"
)

// responder publishes answers without making their caller wait: an
// acknowledgement from a client (handled on an event loop), a request's
// answer (computed on the subscription connection's goroutine). Answers
// queue here, at most MaxQueuedResponses, and one goroutine sends what has
// queued in one pipelined batch.
type responder struct {
	c     *Client
	mu    sync.Mutex
	queue []outMsg
	wake  chan struct{}
}

type outMsg struct {
	channel string
	payload []byte
}

func newResponder(c *Client) *responder {
	return &responder{c: c, wake: make(chan struct{}, 1)}
}

// send queues payload (which it keeps: do not reuse it) for channel.
func (r *responder) send(channel string, payload []byte) {
	if r.c.closed.Load() {
		r.c.countPublish(ErrClosed, channel)
		return
	}
	r.mu.Lock()
	if len(r.queue) >= r.c.opts.MaxQueuedResponses {
		r.mu.Unlock()
		r.c.stats.publishErrors.Add(1)
		r.c.logs.warn("queue", "redisadapter: answer queue full, answer dropped", "channel", channel)
		return
	}
	r.queue = append(r.queue, outMsg{channel, payload})
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *responder) run() {
	var batch []outMsg
	var cmds rueidis.Commands
	for {
		select {
		case <-r.c.stop:
			return
		case <-r.wake:
		}
		r.mu.Lock()
		batch, r.queue = r.queue, batch[:0]
		r.mu.Unlock()
		if len(batch) == 0 {
			continue
		}
		cmds = cmds[:0]
		for _, m := range batch {
			cmds = append(cmds, r.c.publishCmd(m.channel, m.payload))
		}
		ctx, cancel := context.WithTimeout(context.Background(), r.c.opts.PublishTimeout)
		res := r.c.rc.DoMulti(ctx, cmds...)
		cancel()
		for i, x := range res {
			r.c.countPublish(x.Error(), batch[i].channel)
		}
		clear(batch)
	}
}
