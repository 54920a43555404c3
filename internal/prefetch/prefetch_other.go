//go:build !(amd64 || arm64)

package prefetch

import "unsafe"

// Object hints that the object of size bytes at p will be read soon (a
// no-op here).
func Object(p unsafe.Pointer, size uintptr) {}

// Deref hints that the object of size bytes that the pointer stored at
// p+off points to will be read soon (a no-op here).
func Deref(p unsafe.Pointer, off, size uintptr) {}
