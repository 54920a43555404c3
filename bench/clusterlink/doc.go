// Package clusterlink is the measurement that chose how fanio nodes carry
// each other's Engine.IO requests (polling without sticky sessions, see
// engine.Cluster): a message and its answer between two nodes, through
// Redis pub/sub (each node PUBLISHes to the other's channel and reads its
// own on a subscribed connection, rueidis as in redisadapter) or over a
// direct TCP connection between the nodes (length-prefixed frames, one
// writer goroutine and one reader per connection, as redisadapter's link).
// Each round trip carries 300 bytes each way, the size of a forwarded
// polling request and its answer.
//
//	go test ./bench/clusterlink -run XXX -bench . -benchtime 20000x -count 3
//
// It reports the latency of a round trip (p50, p99), the CPU of the two
// nodes per round trip (this process: both nodes live in it) and Redis's
// (INFO cpu), one at a time and with 32 in flight. The results and the
// decision are in BENCHMARKS.md ("Polling without sticky sessions") and in
// the redisadapter package doc; redisadapter's BenchmarkLinkRoundTrip
// measures the link as built.
package clusterlink
