// Command server is the Go fixture of fanio-bench: the fanio counterpart of
// bench/node/server.mjs, started by `fanio-bench all` as
//
//	taskset -c 0   fanio-bench-server -addr 127.0.0.1:3101 -cores 1
//	taskset -c 0,1 fanio-bench-server -addr 127.0.0.1:3101 -cores 2
//
// TODO(bench): this is a stub until fanio/sio exists. It exits with status 3
// ("not implemented"), which makes the runner skip the Go columns. The real
// body must implement exactly the contract of bench/node/server.mjs:
//
//   - listen on -addr (plain TCP, HTTP/1.1), gnet reactor with -cores event
//     loops (and GOMAXPROCS = -cores);
//   - Engine.IO path /socket.io/, pingInterval 25s, pingTimeout 20s,
//     maxHttpBufferSize 1e6, no perMessageDeflate, no HTTP compression,
//     CORS origin *, transports polling + websocket with upgrades;
//   - namespace "/":
//     join(room, ack): join room, then ack with no arguments (`43<id>[]`);
//     pub(payload):    broadcast "msg" with that payload to room "r"
//     (`42["msg",payload]` to every member, the sender included if a member);
//     echo(...args, ack): ack with the same args (`43<id>[...args]`);
//   - GET /stats -> 200 application/json
//     {"server":"fanio","rss":<bytes VmRSS>,"heapUsed":<runtime HeapInuse>,
//     "sockets":<connected sockets in "/">,"cpuUser":<µs>,"cpuSystem":<µs>}
//     (getrusage RUSAGE_SELF); any other non-Engine.IO path -> 404;
//   - exit 0 on SIGTERM/SIGINT.
//
// Until then the runner needs nothing else from it.
package main

import (
	"flag"
	"fmt"
	"os"
)

// notImplemented is the exit status the runner reads as "stub, skip me".
const notImplemented = 3

func main() {
	addr := flag.String("addr", "127.0.0.1:3101", "listen address")
	cores := flag.Int("cores", 1, "event loops / GOMAXPROCS")
	flag.Parse()
	fmt.Fprintf(os.Stderr, "fanio bench server: not implemented yet (waiting for fanio/sio); would listen on %s with %d core(s)\n", *addr, *cores)
	os.Exit(notImplemented)
}
