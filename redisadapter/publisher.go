package redisadapter

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/redis/rueidis"
)

// ErrQueueFull: more than Options.MaxQueued messages are waiting to be
// published (Redis too slow, or unreachable and timing out).
var ErrQueueFull = errors.New("redisadapter: publish queue full")

// publisher is the one queue every message a Client publishes goes
// through, in order: one goroutine sends what has queued as one pipelined
// batch (DoMulti), so that a handler that broadcasts does not wait a Redis
// round trip, and a burst of broadcasts costs Redis one read, not one per
// message.
//
// Broadcasts and answers are queued and not waited for; requests wait for
// their result. While Redis is failing (the last batch failed, or the
// subscription connection was lost), broadcasts are sent synchronously
// instead, so that the caller gets the error; the first one that succeeds
// ends that state.
type publisher struct {
	c     *Client
	mu    sync.Mutex
	queue []outMsg
	wake  chan struct{}
	down  atomic.Bool
}

type outMsg struct {
	channel string
	payload []byte
	buf     *[]byte    // returned to bufPool once sent (nil: not pooled)
	done    chan error // the result, for a caller that waits (nil: none)
}

func newPublisher(c *Client) *publisher {
	return &publisher{c: c, wake: make(chan struct{}, 1)}
}

func (p *publisher) enqueue(m outMsg) error {
	if p.c.closed.Load() {
		return ErrClosed
	}
	p.mu.Lock()
	if len(p.queue) >= p.c.opts.MaxQueued {
		p.mu.Unlock()
		return ErrQueueFull
	}
	p.queue = append(p.queue, m)
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return nil
}

// publish publishes payload on channel and waits for Redis's answer
// (within PublishTimeout, the batch's deadline). payload may be reused
// once it returns.
func (c *Client) publish(channel string, payload []byte) error {
	done := make(chan error, 1)
	if err := c.pub.enqueue(outMsg{channel: channel, payload: payload, done: done}); err != nil {
		c.countPublish(err, channel)
		return err
	}
	select {
	case err := <-done:
		return err
	case <-c.stop:
		return ErrClosed
	}
}

// publishAsync queues payload for channel without waiting (the queue keeps
// payload, and returns buf, if not nil, to the pool once sent). It returns
// an error when the message cannot be queued or, while Redis is failing,
// when the synchronous publish fails.
func (c *Client) publishAsync(channel string, payload []byte, buf *[]byte) error {
	if c.pub.down.Load() {
		err := c.publish(channel, payload)
		if buf != nil {
			putBuf(buf)
		}
		return err
	}
	if err := c.pub.enqueue(outMsg{channel: channel, payload: payload, buf: buf}); err != nil {
		c.countPublish(err, channel)
		if buf != nil {
			putBuf(buf)
		}
		return err
	}
	return nil
}

func (p *publisher) run() {
	var batch []outMsg
	var cmds rueidis.Commands
	for {
		select {
		case <-p.c.stop:
			p.failQueued()
			return
		case <-p.wake:
		}
		p.mu.Lock()
		batch, p.queue = p.queue, batch[:0]
		p.mu.Unlock()
		if len(batch) == 0 {
			continue
		}
		cmds = cmds[:0]
		for _, m := range batch {
			cmds = append(cmds, p.c.publishCmd(m.channel, m.payload))
		}
		ctx, cancel := context.WithTimeout(context.Background(), p.c.opts.PublishTimeout)
		res := p.c.rc.DoMulti(ctx, cmds...)
		cancel()
		failing := false
		for i, x := range res {
			m := &batch[i]
			err := x.Error()
			if err != nil && x.NonRedisError() != nil {
				failing = true
			}
			p.c.countPublish(err, m.channel)
			if m.done != nil {
				m.done <- err
			}
			if m.buf != nil {
				putBuf(m.buf)
			}
		}
		p.down.Store(failing)
		clear(batch)
	}
}

// failQueued ends what is still queued when the Client closes.
func (p *publisher) failQueued() {
	p.mu.Lock()
	q := p.queue
	p.queue = nil
	p.mu.Unlock()
	for _, m := range q {
		if m.done != nil {
			m.done <- ErrClosed
		}
	}
}
