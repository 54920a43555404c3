package prefetch

import (
	"runtime"
	"testing"
	"unsafe"
)

type node struct {
	next *node
	pad  [200]byte
}

// The hints read nothing the program sees and never fault: nil, an
// address past the end of an object, a field holding nil.
func TestHintsNeverFault(t *testing.T) {
	n := &node{next: &node{}}
	Object(unsafe.Pointer(n), unsafe.Sizeof(*n))
	Object(unsafe.Pointer(n), 0)
	Object(nil, 64)
	Object(unsafe.Add(unsafe.Pointer(n), 4096), 1<<20) // pages that may not be mapped
	Deref(unsafe.Pointer(n), unsafe.Offsetof(n.next), unsafe.Sizeof(*n))
	Deref(unsafe.Pointer(n.next), unsafe.Offsetof(n.next), unsafe.Sizeof(*n)) // next is nil
	Deref(nil, 8, 64)
	runtime.KeepAlive(n)
}

// A hint costs a call, not an allocation.
func TestHintsDoNotAllocate(t *testing.T) {
	n := &node{next: &node{}}
	if a := testing.AllocsPerRun(100, func() {
		Object(unsafe.Pointer(n), unsafe.Sizeof(*n))
		Deref(unsafe.Pointer(n), unsafe.Offsetof(n.next), unsafe.Sizeof(*n))
	}); a != 0 {
		t.Fatalf("%v allocations per hint", a)
	}
}
