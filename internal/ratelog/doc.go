// Package ratelog bounds how many log records of one kind a server writes:
// the records a client can cause (a refused handshake, a protocol error, an
// oversize payload, a slow reader) must not let an attacker flood the log.
//
// A Limiter lets Burst records of a kind through per Interval and drops the
// rest; the first record let through after some were dropped carries a
// "suppressed" attribute with their number, so nothing disappears without
// a trace. Deciding costs two atomic operations and a clock read, and
// allocates nothing; a record that is dropped is never formatted.
//
// It owns nothing but that decision; it imports nothing of this project.
package ratelog
