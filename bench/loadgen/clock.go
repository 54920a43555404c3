package loadgen

import (
	"time"
	_ "unsafe" // for go:linkname
)

// nanotime is the runtime's CLOCK_MONOTONIC reading (vDSO, no allocation).
// Every process on the machine shares that clock, so a timestamp taken by
// the publisher in one worker process can be compared with the reception
// time in another.
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64

// Nanotime exposes the monotonic clock used for all latency measurements.
func Nanotime() int64 { return nanotime() }

// sleepUntil sleeps until the monotonic clock reaches t (no-op if past).
func sleepUntil(t int64) {
	if d := t - nanotime(); d > 0 {
		time.Sleep(time.Duration(d))
	}
}
