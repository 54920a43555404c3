package ratelog

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// Default limits: at most 10 records of a kind per second.
const (
	DefaultBurst    = 10
	DefaultInterval = time.Second
)

// Limiter logs to a slog.Logger, at most Burst records of each kind per
// Interval. Kinds are small integers chosen by the caller (0 to kinds-1).
// It is safe for concurrent use; the zero value is not usable (New).
type Limiter struct {
	log      *slog.Logger
	burst    int64
	interval int64 // nanoseconds
	epoch    time.Time
	kinds    []window
}

// window is one kind's current interval, on its own cache line: kinds are
// hit from every event loop at once only under attack, and then only their
// own.
type window struct {
	start      atomic.Int64 // nanoseconds since epoch
	n          atomic.Int64 // records in this window
	suppressed atomic.Int64 // dropped since the last record let through
	_          [40]byte
}

// New returns a limiter for kinds kinds writing to log, with burst records
// per interval (the defaults when zero or negative).
func New(log *slog.Logger, kinds, burst int, interval time.Duration) *Limiter {
	if burst <= 0 {
		burst = DefaultBurst
	}
	if interval <= 0 {
		interval = DefaultInterval
	}
	return &Limiter{log: log, burst: int64(burst), interval: int64(interval), epoch: time.Now(), kinds: make([]window, kinds)}
}

// Logger is the logger records go to.
func (l *Limiter) Logger() *slog.Logger { return l.log }

// allow decides whether a record of kind may be written now; when it may,
// suppressed is the number dropped since the last one let through.
func (l *Limiter) allow(kind int) (ok bool, suppressed int64) {
	w := &l.kinds[kind]
	now := int64(time.Since(l.epoch))
	if start := w.start.Load(); now-start >= l.interval {
		if w.start.CompareAndSwap(start, now) {
			w.n.Store(0)
		}
	}
	if w.n.Add(1) > l.burst {
		w.suppressed.Add(1)
		return false, 0
	}
	return true, w.suppressed.Swap(0)
}

// Log writes a record of kind at level unless the logger would discard it
// or the kind is over its limit. args are slog's key-value pairs.
func (l *Limiter) Log(kind int, level slog.Level, msg string, args ...any) {
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	ok, suppressed := l.allow(kind)
	if !ok {
		return
	}
	if suppressed > 0 {
		args = append(args, slog.Int64("suppressed", suppressed))
	}
	l.log.Log(context.Background(), level, msg, args...)
}
