package loadgen

import (
	"math"
	"math/bits"
	"sync/atomic"
)

// Histogram is an HDR-style log-linear histogram of non-negative int64
// values (nanoseconds here). Every power of two is split into 2^histSubBits
// linear sub-buckets, so any recorded value is known to within 1/128
// (< 0.8 %) of itself; values below 256 are exact. Recording is a couple of
// shifts and one atomic add: no allocation, safe from many goroutines.
type Histogram struct {
	counts [histBuckets]atomic.Uint64
	n      atomic.Uint64
	sum    atomic.Uint64
	max    atomic.Int64
}

const (
	histSubBits = 7
	histSub     = 1 << histSubBits
	histBuckets = (64 - histSubBits + 1) * histSub
)

// histIndex maps v >= 0 to its bucket.
func histIndex(v uint64) int {
	if v < 2*histSub {
		return int(v)
	}
	e := bits.Len64(v) - histSubBits - 1
	return e*histSub + int(v>>uint(e))
}

// histBounds returns the smallest and largest value mapped to bucket i.
func histBounds(i int) (lo, hi uint64) {
	if i < 2*histSub {
		return uint64(i), uint64(i)
	}
	e := i/histSub - 1
	m := uint64(i - e*histSub)
	lo = m << uint(e)
	hi = lo + (uint64(1) << uint(e)) - 1
	return lo, hi
}

// Record adds one value (negative values count as 0).
func (h *Histogram) Record(v int64) {
	if v < 0 {
		v = 0
	}
	h.counts[histIndex(uint64(v))].Add(1)
	h.n.Add(1)
	h.sum.Add(uint64(v))
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			break
		}
	}
}

// Reset zeroes the histogram. Concurrent Records may be partly lost.
func (h *Histogram) Reset() {
	for i := range h.counts {
		h.counts[i].Store(0)
	}
	h.n.Store(0)
	h.sum.Store(0)
	h.max.Store(0)
}

// Snapshot copies the histogram into its sparse, serialisable form.
func (h *Histogram) Snapshot() Hist {
	var s Hist
	for i := range h.counts {
		if c := h.counts[i].Load(); c != 0 {
			s.Idx = append(s.Idx, int32(i))
			s.Cnt = append(s.Cnt, c)
		}
	}
	s.N = h.n.Load()
	s.Sum = float64(h.sum.Load())
	s.Max = h.max.Load()
	return s
}

// Hist is a sparse histogram snapshot: it serialises to JSON, merges across
// workers and answers quantiles.
type Hist struct {
	Idx []int32  `json:"i,omitempty"`
	Cnt []uint64 `json:"c,omitempty"`
	N   uint64   `json:"n"`
	Sum float64  `json:"sum"`
	Max int64    `json:"max"`
}

// Merge adds o into h.
func (h *Hist) Merge(o Hist) {
	if o.N == 0 {
		return
	}
	m := make(map[int32]uint64, len(h.Idx)+len(o.Idx))
	for k, i := range h.Idx {
		m[i] += h.Cnt[k]
	}
	for k, i := range o.Idx {
		m[i] += o.Cnt[k]
	}
	h.Idx = h.Idx[:0]
	h.Cnt = h.Cnt[:0]
	for i := int32(0); i < histBuckets; i++ {
		if c, ok := m[i]; ok {
			h.Idx = append(h.Idx, i)
			h.Cnt = append(h.Cnt, c)
		}
	}
	h.N += o.N
	h.Sum += o.Sum
	if o.Max > h.Max {
		h.Max = o.Max
	}
}

// Quantile returns the value at quantile q in [0,1] (bucket midpoint,
// clamped to the recorded maximum); 0 for an empty histogram.
func (h *Hist) Quantile(q float64) float64 {
	if h.N == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.N)))
	if rank < 1 {
		rank = 1
	}
	var acc uint64
	for k, i := range h.Idx {
		acc += h.Cnt[k]
		if acc >= rank {
			lo, hi := histBounds(int(i))
			v := float64(lo) + float64(hi-lo)/2
			if v > float64(h.Max) {
				v = float64(h.Max)
			}
			return v
		}
	}
	return float64(h.Max)
}

// Mean of the recorded values.
func (h *Hist) Mean() float64 {
	if h.N == 0 {
		return 0
	}
	return h.Sum / float64(h.N)
}

// Latency summarises a histogram of nanoseconds in microseconds.
type Latency struct {
	Count  uint64  `json:"count"`
	MeanUs float64 `json:"mean_us"`
	P50Us  float64 `json:"p50_us"`
	P90Us  float64 `json:"p90_us"`
	P99Us  float64 `json:"p99_us"`
	P999Us float64 `json:"p999_us"`
	MaxUs  float64 `json:"max_us"`
}

// Summary turns a nanosecond histogram into a Latency.
func (h *Hist) Summary() Latency {
	return Latency{
		Count:  h.N,
		MeanUs: h.Mean() / 1e3,
		P50Us:  h.Quantile(0.50) / 1e3,
		P90Us:  h.Quantile(0.90) / 1e3,
		P99Us:  h.Quantile(0.99) / 1e3,
		P999Us: h.Quantile(0.999) / 1e3,
		MaxUs:  float64(h.Max) / 1e3,
	}
}
