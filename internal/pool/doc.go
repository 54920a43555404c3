// Package pool holds the reusable resources of fanio: byte buffers for
// frames and responses (bytebufferpool, which calibrates its size classes to
// what is actually used), and a bounded worker pool with per-key serial
// queues for running user code off the event loops.
//
// It imports nothing from this project.
package pool
