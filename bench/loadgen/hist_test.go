package loadgen

import (
	"encoding/json"
	"math"
	"math/rand"
	"sort"
	"testing"
)

func TestHistIndexMonotonicAndBounds(t *testing.T) {
	prev := -1
	for _, v := range []uint64{0, 1, 2, 127, 128, 255, 256, 257, 511, 512, 1000, 1 << 20, 123456789, 1 << 40, math.MaxInt64, math.MaxUint64} {
		i := histIndex(v)
		if i < prev {
			t.Fatalf("index not monotonic at %d: %d < %d", v, i, prev)
		}
		prev = i
		if i < 0 || i >= histBuckets {
			t.Fatalf("index %d of %d out of range", i, v)
		}
		lo, hi := histBounds(i)
		if v < lo || v > hi {
			t.Fatalf("value %d not within bucket %d bounds [%d,%d]", v, i, lo, hi)
		}
		if v >= 256 && float64(hi-lo+1)/float64(lo) > 1.0/128+1e-12 {
			t.Fatalf("bucket %d [%d,%d] wider than 1/128 of its value", i, lo, hi)
		}
	}
	// Every bucket's bounds map back to itself and buckets are contiguous.
	var next uint64
	for i := 0; i < histBuckets; i++ {
		lo, hi := histBounds(i)
		if lo != next {
			t.Fatalf("bucket %d starts at %d, want %d", i, lo, next)
		}
		if histIndex(lo) != i || histIndex(hi) != i {
			t.Fatalf("bucket %d bounds [%d,%d] map to %d,%d", i, lo, hi, histIndex(lo), histIndex(hi))
		}
		next = hi + 1
		if next == 0 { // wrapped past MaxUint64: last bucket
			if i != histBuckets-1 {
				t.Fatalf("wrapped at bucket %d of %d", i, histBuckets)
			}
			break
		}
	}
}

func TestHistQuantiles(t *testing.T) {
	var h Histogram
	r := rand.New(rand.NewSource(1))
	vals := make([]int64, 200000)
	for i := range vals {
		vals[i] = int64(r.ExpFloat64() * 1e6) // ~1 ms mean, ns
		h.Record(vals[i])
	}
	sort.Slice(vals, func(a, b int) bool { return vals[a] < vals[b] })
	s := h.Snapshot()
	if s.N != uint64(len(vals)) {
		t.Fatalf("count %d", s.N)
	}
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		exact := float64(vals[int(math.Ceil(q*float64(len(vals))))-1])
		got := s.Quantile(q)
		if math.Abs(got-exact)/exact > 0.01 {
			t.Errorf("q%.3f = %.0f, exact %.0f (> 1%% off)", q, got, exact)
		}
	}
	if s.Max != vals[len(vals)-1] {
		t.Errorf("max %d, want %d", s.Max, vals[len(vals)-1])
	}
	if m := s.Mean(); math.Abs(m-1e6)/1e6 > 0.02 {
		t.Errorf("mean %.0f", m)
	}
}

func TestHistMergeAndJSON(t *testing.T) {
	var a, b Histogram
	for i := int64(1); i <= 1000; i++ {
		a.Record(i * 1000)
		b.Record(i*1000 + 1_000_000)
	}
	a.Record(-5) // counts as 0
	sa, sb := a.Snapshot(), b.Snapshot()
	raw, err := json.Marshal(sb)
	if err != nil {
		t.Fatal(err)
	}
	var sb2 Hist
	if err := json.Unmarshal(raw, &sb2); err != nil {
		t.Fatal(err)
	}
	sa.Merge(sb2)
	if sa.N != 2001 {
		t.Fatalf("merged count %d", sa.N)
	}
	if sa.Max != 2_000_000 {
		t.Fatalf("merged max %d", sa.Max)
	}
	med := sa.Quantile(0.5)
	if med < 990_000 || med > 1_010_000 {
		t.Fatalf("merged median %.0f", med)
	}
	if q := sa.Quantile(0); q != 0 {
		t.Fatalf("q0 = %v", q)
	}
	sum := sa.Summary()
	if sum.Count != 2001 || sum.MaxUs != 2000 {
		t.Fatalf("summary %+v", sum)
	}
	var empty Hist
	if empty.Quantile(0.99) != 0 || empty.Mean() != 0 {
		t.Fatal("empty histogram")
	}
}

func TestHistRecordDoesNotAllocate(t *testing.T) {
	var h Histogram
	v := int64(12345)
	if n := testing.AllocsPerRun(1000, func() { h.Record(v); v += 7 }); n != 0 {
		t.Fatalf("Record allocates %.1f times", n)
	}
}
