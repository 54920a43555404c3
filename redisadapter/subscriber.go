package redisadapter

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/redis/rueidis"
)

// handler receives one message of a subscription: the channel it came on
// and its payload (read-only; it stays valid after the call).
type handler func(channel string, msg []byte)

type subKind uint8

const (
	kindChannel subKind = iota // SUBSCRIBE
	kindPattern                // PSUBSCRIBE
	kindShard                  // SSUBSCRIBE
)

type subKey struct {
	kind subKind
	name string
}

// subscriber owns the subscription connection: one dedicated Redis
// connection holding every channel and pattern of every adapter of the
// Client. Adapters say what they want (add, remove); one goroutine (run)
// brings the connection in line, and when the connection is lost it dials
// again, with backoff, and subscribes to everything anew.
//
// Messages are handled on the connection's reading goroutine, in the order
// Redis sent them: a handler must not block (local delivery queues and
// returns; anything slower goes to another goroutine).
type subscriber struct {
	c *Client

	mu        sync.RWMutex
	want      map[subKey]handler
	dirty     map[subKey]struct{}
	gen       uint64 // bumped by every change of want
	applied   uint64 // the gen the connection holds
	connected bool
	since     time.Time
	changed   chan struct{} // closed and replaced when applied or connected change
	wake      chan struct{}
}

func newSubscriber(c *Client) *subscriber {
	return &subscriber{
		c:       c,
		want:    make(map[subKey]handler),
		dirty:   make(map[subKey]struct{}),
		changed: make(chan struct{}),
		wake:    make(chan struct{}, 1),
		since:   time.Now(),
	}
}

// add subscribes h to a channel (or pattern); a second add of the same
// name replaces the handler.
func (s *subscriber) add(kind subKind, name string, h handler) {
	k := subKey{kind, name}
	s.mu.Lock()
	s.want[k] = h
	s.dirty[k] = struct{}{}
	s.gen++
	s.mu.Unlock()
	s.poke()
}

// remove unsubscribes from a channel (or pattern).
func (s *subscriber) remove(kind subKind, name string) {
	k := subKey{kind, name}
	s.mu.Lock()
	if _, ok := s.want[k]; ok {
		delete(s.want, k)
		s.dirty[k] = struct{}{}
		s.gen++
	}
	s.mu.Unlock()
	s.poke()
}

func (s *subscriber) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// sync waits until the connection holds every change made before the call,
// or timeout, or ctx.
func (s *subscriber) sync(ctx context.Context, timeout time.Duration) error {
	s.mu.RLock()
	target := s.gen
	s.mu.RUnlock()
	return s.waitFor(ctx, timeout, func() bool { return s.connected && s.applied >= target })
}

// waitConnected waits until the connection is up with its subscriptions.
func (s *subscriber) waitConnected(ctx context.Context, timeout time.Duration) error {
	return s.sync(ctx, timeout)
}

func (s *subscriber) waitFor(ctx context.Context, timeout time.Duration, ok func() bool) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		s.mu.RLock()
		done, ch := ok(), s.changed
		s.mu.RUnlock()
		if done {
			return nil
		}
		select {
		case <-ch:
		case <-t.C:
			return errors.New("the subscriptions are not in place (Redis unreachable?)")
		case <-ctx.Done():
			return ctx.Err()
		case <-s.c.stop:
			return ErrClosed
		}
	}
}

// notifyLocked wakes the waiters; s.mu must be held.
func (s *subscriber) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *subscriber) state() (connected bool, subscriptions int, since time.Time) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.connected, len(s.want), s.since
}

// onMessage runs on the connection's reading goroutine.
func (s *subscriber) onMessage(m rueidis.PubSubMessage) {
	s.c.stats.received.Add(1)
	s.mu.RLock()
	var h handler
	if m.Pattern != "" {
		h = s.want[subKey{kindPattern, m.Pattern}]
	} else if h = s.want[subKey{kindChannel, m.Channel}]; h == nil {
		h = s.want[subKey{kindShard, m.Channel}]
	}
	s.mu.RUnlock()
	if h != nil {
		h(m.Channel, bytesOf(m.Message))
	}
}

// run keeps the connection up and in line with want, until the Client
// closes.
func (s *subscriber) run() {
	backoff := minBackoff
	everConnected := false
	for {
		select {
		case <-s.c.stop:
			return
		default:
		}
		dc, release := s.c.rc.Dedicate()
		lost := dc.SetPubSubHooks(rueidis.PubSubHooks{OnMessage: s.onMessage})
		actual := make(map[subKey]struct{})
		err := s.apply(dc, actual, true)
		if err == nil {
			backoff = minBackoff
			s.setConnected(true)
			if everConnected {
				s.c.stats.reconnects.Add(1)
				s.c.opts.Logger.Info("redisadapter: subscription connection re-established", "subscriptions", len(actual))
			}
			everConnected = true
			err = s.serve(dc, actual, lost)
		}
		dc.Close()
		release()
		if err == errStopped {
			s.setConnected(false)
			return
		}
		s.mu.RLock()
		was := s.connected
		s.mu.RUnlock()
		if was {
			s.setConnected(false)
			// Publishing goes through the same Redis: until a publish
			// succeeds again, broadcasts wait for theirs and report it.
			s.c.pub.down.Store(true)
			s.c.opts.Logger.Warn("redisadapter: subscription connection lost; reconnecting", "err", err)
		} else {
			s.c.logs.warn("subscribe", "redisadapter: cannot subscribe; retrying", "err", err, "retry_in", backoff)
		}
		select {
		case <-s.c.stop:
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 2 * time.Second
)

var errStopped = errors.New("stopped")

// serve applies changes as they come until the connection is lost or the
// Client closes.
func (s *subscriber) serve(dc rueidis.DedicatedClient, actual map[subKey]struct{}, lost <-chan error) error {
	for {
		select {
		case <-s.wake:
			if err := s.apply(dc, actual, false); err != nil {
				return err
			}
		case err, ok := <-lost:
			if !ok || err == nil {
				err = errors.New("connection closed")
			}
			return err
		case <-s.c.stop:
			return errStopped
		}
	}
}

func (s *subscriber) setConnected(up bool) {
	s.mu.Lock()
	s.connected = up
	s.since = time.Now()
	s.notifyLocked()
	s.mu.Unlock()
}

// batch is the most channels one SUBSCRIBE-family command carries.
const batch = 512

// apply sends the commands that make the connection hold want: for the
// dirty keys, or every key when full (a new connection).
func (s *subscriber) apply(dc rueidis.DedicatedClient, actual map[subKey]struct{}, full bool) error {
	s.mu.Lock()
	gen := s.gen
	var keys []subKey
	if full {
		keys = make([]subKey, 0, len(s.want))
		for k := range s.want {
			keys = append(keys, k)
		}
		clear(s.dirty)
	} else {
		keys = make([]subKey, 0, len(s.dirty))
		for k := range s.dirty {
			keys = append(keys, k)
		}
		clear(s.dirty)
	}
	var add, del [3][]string
	for _, k := range keys {
		_, wanted := s.want[k]
		_, have := actual[k]
		switch {
		case wanted && !have:
			add[k.kind] = append(add[k.kind], k.name)
		case !wanted && have:
			del[k.kind] = append(del[k.kind], k.name)
		}
	}
	s.mu.Unlock()
	for kind := range add {
		if err := s.send(dc, subKind(kind), add[kind], true); err != nil {
			s.requeue(keys)
			return err
		}
		for _, n := range add[kind] {
			actual[subKey{subKind(kind), n}] = struct{}{}
		}
		if err := s.send(dc, subKind(kind), del[kind], false); err != nil {
			s.requeue(keys)
			return err
		}
		for _, n := range del[kind] {
			delete(actual, subKey{subKind(kind), n})
		}
	}
	s.mu.Lock()
	if gen > s.applied {
		s.applied = gen
	}
	s.notifyLocked()
	s.mu.Unlock()
	return nil
}

// requeue marks keys dirty again after a failed attempt.
func (s *subscriber) requeue(keys []subKey) {
	s.mu.Lock()
	for _, k := range keys {
		s.dirty[k] = struct{}{}
	}
	s.mu.Unlock()
}

func (s *subscriber) send(dc rueidis.DedicatedClient, kind subKind, names []string, sub bool) error {
	for len(names) > 0 {
		n := min(len(names), batch)
		part := names[:n]
		names = names[n:]
		b := dc.B()
		var cmd rueidis.Completed
		switch {
		case kind == kindChannel && sub:
			cmd = b.Subscribe().Channel(part...).Build()
		case kind == kindChannel:
			cmd = b.Unsubscribe().Channel(part...).Build()
		case kind == kindPattern && sub:
			cmd = b.Psubscribe().Pattern(part...).Build()
		case kind == kindPattern:
			cmd = b.Punsubscribe().Pattern(part...).Build()
		case sub:
			cmd = b.Ssubscribe().Channel(part...).Build()
		default:
			cmd = b.Sunsubscribe().Channel(part...).Build()
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.c.opts.DialTimeout)
		err := dc.Do(ctx, cmd).Error()
		cancel()
		if err != nil {
			return err
		}
	}
	return nil
}
