// Package redisclient measures the two Go Redis clients fanio could build
// its cluster adapter on — github.com/redis/rueidis and
// github.com/redis/go-redis/v9 — on what the adapter does: PUBLISH from
// many goroutines (broadcasts from handlers), receiving a stream of
// pub/sub messages on one connection (broadcasts from other nodes), and
// coming back after Redis restarts. Each benchmark runs against a private
// redis-server (internal/redistest) and reports, besides ns/op and
// allocations, the client process's CPU per operation (cpu-ns/op, from
// getrusage) and Redis's own CPU per operation (redis-cpu-ns/op, from INFO
// cpu).
//
//	go test ./bench/redisclient -run XXX -bench . -benchtime 200000x -count 3
//	go test ./bench/redisclient -run Reconnect -v
//
// The results and the decision are recorded in the redisadapter package
// doc. This package lives in the bench module so that the library's go.mod
// carries only the client that was chosen.
package redisclient
