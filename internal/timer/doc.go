// Package timer is a sharded timing wheel for O(1) timeouts of many
// objects: connections' idle and linger timeouts (eventloop), sessions'
// heartbeats and upgrade probes (engine), connect and acknowledgement
// timeouts (sio).
//
// A Timer is embedded in the object it times, so arming one allocates
// nothing; a Wheel advances every shard from one goroutine at a fixed
// resolution, and the callbacks run on that goroutine (they must be short
// and must not block).
//
// It owns only time; it imports nothing of this project.
package timer
