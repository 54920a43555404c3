// Package prefetch asks the CPU to bring memory into its cache ahead of
// use, for loops that walk many objects through pointers: a broadcast
// touches the state of each member's socket, session and connection, each
// a cache line that the kernel's work on the previous members has pushed
// out, and without a hint the CPU waits for each in turn. Issued a few
// members ahead, the loads overlap.
//
// A hint never faults and changes nothing but timing: any address may be
// given, even a stale one. Where there is no instruction for it (other
// than amd64 and arm64) the calls do nothing.
//
// It imports nothing from this project.
package prefetch
