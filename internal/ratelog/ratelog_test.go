package ratelog

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

type buf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *buf) Write(p []byte) (int, error) { b.mu.Lock(); defer b.mu.Unlock(); return b.b.Write(p) }
func (b *buf) lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := strings.TrimSpace(b.b.String())
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func TestBurstThenSuppressedCount(t *testing.T) {
	var out buf
	l := New(slog.New(slog.NewTextHandler(&out, nil)), 2, 3, 50*time.Millisecond)
	for i := 0; i < 100; i++ {
		l.Log(0, slog.LevelWarn, "refused", "i", i)
	}
	l.Log(1, slog.LevelWarn, "other kind")
	lines := out.lines()
	if len(lines) != 4 {
		t.Fatalf("got %d lines, want 3 of kind 0 and 1 of kind 1:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	// After the interval, the next record says how many were dropped.
	time.Sleep(60 * time.Millisecond)
	l.Log(0, slog.LevelWarn, "refused", "i", 100)
	lines = out.lines()
	last := lines[len(lines)-1]
	if !strings.Contains(last, "suppressed=97") {
		t.Fatalf("last line %q does not report the 97 dropped records", last)
	}
}

func TestDisabledLevelCostsNothing(t *testing.T) {
	var out buf
	l := New(slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelError})), 1, 1, time.Hour)
	for i := 0; i < 5; i++ {
		l.Log(0, slog.LevelInfo, "hidden")
	}
	l.Log(0, slog.LevelError, "shown")
	if lines := out.lines(); len(lines) != 1 || strings.Contains(lines[0], "suppressed") {
		t.Fatalf("records below the level must neither print nor count as suppressed: %q", lines)
	}
}

func TestConcurrentBound(t *testing.T) {
	var out buf
	l := New(slog.New(slog.NewTextHandler(&out, nil)), 1, 5, time.Hour)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				l.Log(0, slog.LevelWarn, "flood")
			}
		}()
	}
	wg.Wait()
	if n := len(out.lines()); n != 5 {
		t.Fatalf("%d lines from 8000 records, want the burst of 5", n)
	}
}

func TestAllowAllocatesNothing(t *testing.T) {
	l := New(slog.New(slog.NewTextHandler(&bytes.Buffer{}, nil)), 1, 1, time.Hour)
	l.Log(0, slog.LevelWarn, "first")
	if n := testing.AllocsPerRun(1000, func() { l.Log(0, slog.LevelWarn, "dropped", "k", 1) }); n != 0 {
		t.Fatalf("a dropped record allocates %.1f times", n)
	}
}
