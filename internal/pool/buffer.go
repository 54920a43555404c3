package pool

import "github.com/valyala/bytebufferpool"

// Buffer is a pooled byte buffer. Its B field may be appended to directly.
type Buffer = bytebufferpool.ByteBuffer

var buffers bytebufferpool.Pool

// Get returns an empty buffer from the pool.
func Get() *Buffer { return buffers.Get() }

// Put returns b to the pool. b must not be used afterwards. Put(nil) is a no-op.
func Put(b *Buffer) {
	if b != nil {
		buffers.Put(b)
	}
}
