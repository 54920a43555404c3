// Package pool holds the reusable resources of fanio: byte buffers for
// frames and responses (bytebufferpool, which calibrates its size classes to
// what is actually used), and an elastic worker pool with per-connection
// serial mailboxes for running user code off the event loops (worker.go:
// sharded run queues, workers added while tasks block, retired when idle;
// mailbox.go: the serial queue).
//
// It imports nothing from this project.
package pool
