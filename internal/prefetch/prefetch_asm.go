//go:build amd64 || arm64

package prefetch

import "unsafe"

// Object hints that the object of size bytes at p will be read soon: every
// cache line it touches (one for size 0).
//
//go:noescape
func Object(p unsafe.Pointer, size uintptr)

// Deref hints that the object of size bytes that the pointer stored at
// p+off points to will be read soon. The pointer is loaded outside the
// race detector's view: it may be one another goroutine is changing,
// since a stale one costs only a wasted hint. p and the pointer may be nil.
//
//go:noescape
func Deref(p unsafe.Pointer, off, size uintptr)
