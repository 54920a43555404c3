// Package redisadapter joins fanio servers into one Socket.IO cluster
// through Redis, speaking the wire protocol of Node's
// @socket.io/redis-adapter 8.3: fanio nodes and Node.js nodes can share one
// cluster (a Node cluster can move to fanio one node at a time), and
// @socket.io/redis-emitter (or the Go redisemitter) can publish into it.
//
//	rc, err := redisadapter.NewClient(ctx, redisadapter.Options{URL: "redis://127.0.0.1:6379"})
//	if err != nil {
//		return err // Redis unreachable: a clear error, at once
//	}
//	defer rc.Close()
//	srv := sio.NewServer(sio.Options{Adapter: rc.Adapter})
//
// Every operation that works on one node then works across the cluster:
// To/In/Except broadcasts (Volatile and Compress carried along, Local kept
// on the node), FetchSockets (a RemoteSocket for each socket of another
// node, with its id, rooms, data and handshake, that can be emitted to,
// made to join or leave rooms, or disconnected), SocketsJoin, SocketsLeave
// and DisconnectSockets, ServerSideEmit and ServerSideEmitWithAck, broadcast
// EmitWithAck collecting the answers of the clients of every node, AllRooms,
// AllSockets and the server count (Adapter.ServerCount).
//
// # What it owns, and what it must not touch
//
// It owns the Redis side of a cluster: the connections (Client), the
// subscriptions, the messages of both protocols and the requests waiting
// for other nodes' answers; and the link between the nodes that carries
// the engine's cluster messages (link.go: listening, finding and
// authenticating the other nodes; the engine owns what the messages say). Each namespace's adapter embeds a
// *sio.InMemoryAdapter, which keeps the node's own sockets and writes to
// them; this package never touches sockets or transports other than
// through it and sio's public API. It imports sio, engine (the Cluster
// interface), internal/msgpack and internal/rediswire (the wire formats),
// internal/codec (JSON scanning) and github.com/redis/rueidis.
//
// # Wire compatibility
//
// Classic mode (the default; Node's createAdapter): broadcasts are
// MessagePack (notepack) [uid, {type, data, nsp}, {rooms, except, flags}]
// on <key>#<nsp># — or <key>#<nsp>#<room># when they go to exactly one room
// — and every node PSUBSCRIBEs <key>#<nsp>#*; requests are JSON on
// <key>-request#<nsp># (BROADCAST with acknowledgements is MessagePack),
// answers on <key>-response#<nsp># or, with PublishOnSpecificResponseChannel,
// <key>-response#<nsp>#<uid>#. Every request type is sent and answered:
// SOCKETS, ALL_ROOMS, REMOTE_JOIN, REMOTE_LEAVE, REMOTE_DISCONNECT (and their
// older single-socket form), REMOTE_FETCH, SERVER_SIDE_EMIT with and
// without acknowledgement, BROADCAST with BROADCAST_CLIENT_COUNT and
// BROADCAST_ACK. The node id is 6 random characters, per namespace, as
// Node's. The server count is PUBSUB NUMSUB of the request channel, which
// each node subscribes to on exactly one connection.
//
// Sharded mode (Options.Sharded; Node's createShardedAdapter, Redis 7.0 or
// later): ClusterAdapter's messages {type, data, uid, nsp} (types 3 to 12)
// as JSON, or MessagePack when they carry binary, SPUBLISHed on
// <key>#<nsp># and, in the dynamic subscription modes, on <key>#<nsp>#<room>#
// for a broadcast to one room; answers go to <key>#<nsp>#<requester uid>#.
// The node id is 16 hex digits. SubscriptionMode chooses static, dynamic
// (the default: a node subscribes to the channel of each room it has
// members in, its sockets' own rooms excepted, so it never receives, let
// alone decodes, broadcasts for rooms it does not serve) or
// dynamic-private (the sockets' own rooms too). The server count is PUBSUB
// SHARDNUMSUB.
//
// Messages of @socket.io/redis-emitter 5.1 (uid "emitter", requests without
// uid) are delivered. MessagePack is decoded as notepack 3 and 2 write it
// (binary as bin or ext 0, undefined, dates); numeric room names of
// JavaScript peers become their decimal text. Binary arguments keep their
// type wherever the protocol carries MessagePack; in the classic JSON
// requests (a server-side emit's arguments and answers, fetched sockets'
// data) they become {"type":"Buffer","data":[...]}, exactly as Node's
// JSON.stringify makes them.
//
// All of this is checked against the real packages: test/cluster_test.go
// runs a Node.js node (socket.io 4.8.4 and @socket.io/redis-adapter 8.3.0)
// beside a fanio node on one redis-server, with official socket.io-client
// sockets over polling and WebSocket on each, in both protocols.
//
// # Where things run
//
// One goroutine per Client reads the subscription connection and handles
// each message as it comes, in the order Redis sent it: broadcasts are
// walked (uid, namespace, rooms; never decoded into a tree: a per-room
// channel of a room with no local member is dropped before decoding), the
// packet's data becomes the JSON text and attachments sio sends, and the
// embedded adapter encodes it once (engine.Prepared) for all local members.
// Joins, leaves and disconnections requested by other nodes are applied
// there too, in order with the broadcasts. Server-side emit handlers (user
// code) run on a goroutine of their own.
//
// Every message this node publishes goes through one queue per Client,
// sent as pipelined batches by one goroutine: a handler that broadcasts
// does not wait for Redis, and a burst of broadcasts costs Redis one read.
// Requests (FetchSockets, AllRooms, ServerSideEmitWithAck, ...) wait for
// the answers of the other nodes, as many as the server count says, at
// most RequestsTimeout.
//
// # Load balancers without sticky sessions
//
// A Client also links the nodes so that each serves the others' Engine.IO
// sessions (Client.EngineCluster; a sio.Server whose Adapter is the
// Client's takes it by itself): behind a load balancer that spreads a
// client's requests over the nodes (round robin, least connections), a
// polling GET or POST that reaches a node other than the session's is
// forwarded to the session's node and its answer relayed, and a WebSocket
// upgrade moves the session to the node that received it (engine.Cluster
// says how; the client sees what one node would show it). With Node, the
// same deployment needs sticky sessions, or fails with 400 "Session ID
// unknown".
//
// A session id begins with its node's id (4 characters), so no lookup is
// needed. The nodes talk over direct TCP connections, not through Redis:
// each node listens on PeerAddr (default: a free port on the interface that
// reaches Redis) and registers PeerAdvertise under <key>-node#<id> (TTL 15
// s, refreshed every 5 s, removed at Close); a node dials another the
// first time it has a request for it, proves it knows the cluster's secret
// (<key>-link-secret, made by the first node) and hands the connection to
// the engine's event loops. Measured (bench/clusterlink, BENCHMARKS.md):
// a request and its answer cost 7-10 µs of CPU and 5 µs of latency (p50)
// on the link, against 21-76 µs of the nodes' CPU plus 13-46 µs of
// Redis's, and 29-144 µs, through Redis pub/sub — and Redis,
// single-threaded and shared by every broadcast of the cluster, is the
// part that does not scale out. End to end (fanio-bench nosticky),
// forwarding adds 10-120 µs per polling request at p50 and 27 µs of the
// nodes' CPU per forwarded request (47 µs for one served where its
// session lives).
//
// A node that dies takes its sessions with it, as a lone server would:
// requests for them get the same 400 "Session ID unknown" at once (its
// connection breaks, its address is gone from Redis or refuses), with a
// log line (at most one per 10 s) and a count (engine.ClusterStats); a
// node that hangs, at ForwardTimeout. While Redis is down, the links
// already made keep working; a node not linked yet cannot be found, and
// requests for its sessions get 400 until Redis is back.
// Options.NoForwarding turns all this off (a balancer with sticky
// sessions; no listener is opened).
//
// # Faults
//
// Redis unreachable at start: NewClient fails at once with an error naming
// the server. Redis lost while running: local delivery goes on; the
// subscription connection is dialed again with backoff (50 ms to 2 s) and
// every subscription made anew, by itself; broadcasts made while Redis is
// failing publish synchronously and return the error (counted in Stats and
// logged, at most one line per 10 s); requests end with an error, or a
// *TimeoutError holding what came, at their timeout — nothing hangs and no
// goroutine is left behind. A node that dies leaves the server count when
// Redis sees its connection close; a node that hangs makes requests end at
// their timeout. Stats gives counters for metrics (publishes, receptions,
// errors, reconnections, request timeouts).
//
// # Redis client
//
// rueidis, chosen by measurement (bench/redisclient, results in
// bench/results/redisclient.txt; 2-core VM, shared):
//
//	go test ./bench/redisclient -run XXX -bench . -benchtime 100000x -count 2
//	go test ./bench/redisclient -run Reconnect -v
//
// PUBLISH from 16 goroutines: 2.8-2.9 µs of client CPU and 1.1-1.3 µs of
// Redis CPU per publish with rueidis (auto-pipelining), 5.7-6.7 and
// 2.8-3.1 µs with go-redis v9; receiving on one subscribed connection,
// 0.54-0.61 against 0.94 µs per message; with Redis down, a publish fails in
// 35-71 µs against 1.8 s (go-redis retries the dial). go-redis resubscribes
// a PubSub by itself and rueidis does not, but the adapter keeps its own
// subscription set anyway (the dynamic room subscriptions change all the
// time) and resubscribes on every new connection.
//
// # Node behaviours not matched
//
//   - Redis Cluster (several Redis masters) is not supported: Node sums
//     PUBSUB NUMSUB over the masters and routes SSUBSCRIBE by slot;
//     NewClient refuses a cluster client. A standalone Redis is (a Sentinel
//     client may be passed in Options.Redis; it is not tested).
//   - The parser option (a codec other than notepack) is not offered.
//   - REMOTE_JOIN, REMOTE_LEAVE and REMOTE_DISCONNECT of the classic
//     protocol are applied on the sending node at once, and its own copy is
//     ignored when it comes back; Node's sending node applies them only when
//     its copy comes back from Redis. The result is the same, sooner.
//   - Sockets (AllSockets) asks every node (SOCKETS in classic mode,
//     FETCH_SOCKETS in sharded mode); Node 8.x answers SOCKETS but its own
//     allSockets() is local. AllRooms in sharded mode is the union of every
//     socket's rooms (FETCH_SOCKETS): Node's sharded adapter has no
//     allRooms.
//   - A request that times out returns what came with a *TimeoutError
//     (Node's fetchSockets rejects with nothing); sio.FetchSockets passes
//     on the error only.
//   - Broadcasts report publish errors while Redis is failing (Node's never
//     do); one queued just before Redis fails is counted and logged but not
//     reported to its caller.
//   - A broadcast with acknowledgements and no Timeout keeps waiting for
//     the other nodes' answers for RequestsTimeout; Node's forgets them at
//     once (its setTimeout(undefined)), so they are lost there.
//   - A client that leaves before answering a broadcast's acknowledgement
//     ends the wait at once on its own node (sio's ack lifecycle); the
//     protocol has no message for it, so a requesting node elsewhere waits
//     for its Timeout, as with Node.
//   - Server-side emit handlers run on a goroutine of their own, not on the
//     subscription goroutine (Node calls them on its event loop).
//   - Connection state recovery does not span nodes (neither does Node's
//     Redis adapter); it keeps working on each node for its own sockets.
//   - The handshake of a socket described to other nodes has its time in
//     UTC, and socket data that is nil is sent as {} (Node's default
//     socket.data).
package redisadapter
