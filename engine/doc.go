// Package engine implements Engine.IO protocol v4 sessions, and v3 ones for
// old clients when Options.AllowEIO3 is set (eio3.go): the handshake, the
// HTTP long-polling (XHR and JSONP) and WebSocket transports, the
// polling→WebSocket upgrade, heartbeats, payload limits, CORS, the
// optional "io" cookie, permessage-deflate and compressed polling
// responses; and static files answered under its path
// (Options.StaticFiles, with ETag/304 and compression prepared once: how
// sio serves the client bundle).
//
// A Server serves on its own listeners (Start, ListenAndServe,
// ListenAndServeTLS, Serve) or as an http.Handler mounted in a net/http
// server (ServeHTTP), with the same answers either way. WebSockets are
// served on the eventloop reactor, with no goroutine each, whichever way
// they came in; TLS connections and every connection on platforms without
// a reactor are served by the same code on goroutines. Requests outside the
// Engine.IO path on the server's own listeners are handed to a net/http
// server (Options.NotFound).
//
// The reference server's events that are not a session's are hooks here:
// OnConnectionError ("connection_error", with the reference's codes,
// messages and contexts), OnInitialHeaders and OnHeaders (headers and
// cookies of a session's answers); a Handler that is an UpgradeHandler
// hears its session's "upgrading" and "upgrade". Stats returns the
// server's counters (sessions by transport, refusals and closes by reason,
// packets and bytes in and out) kept in per-session cells, without a lock
// on the message path. What a client can cause (refused requests, protocol
// errors, oversize payloads, slow readers) is logged rate-limited, with
// its address and session id.
//
// A Session is the unit users (the sio package) program against: it sends
// messages from any goroutine and reports inbound messages and its close to a
// Handler on the event loop. Prepared encodes messages once per transport
// form (the v3 forms only when a v3 session is among the receivers) so a
// broadcast writes the same bytes to every member; a Fanout sends them
// with one wake-up of each event loop per flush. A session keeps the
// request that opened it as one compact string (RequestHead: the target and
// header fields, no maps), read on demand, so an idle session holds no
// parsed request.
//
// Flow (budget.go, flow.go): each session has one outbound budget
// (Options.MaxOutboundBytes) whatever its transport, checked before a
// packet is queued; a session over it is closed as a slow reader, or drops
// its volatile packets first (SlowReaderPolicy), and an optional budget
// for all sessions together closes the largest backlogs first. Polling
// answers carry a bounded share of a backlog; a pong counts only for a
// ping that left, so nothing waits undelivered past pingInterval +
// pingTimeout. A Handler behind on its work pauses the session's reads
// (PauseReads: TCP pushes back on a WebSocket, a polling POST's answer
// waits) instead of dropping a burst.
//
// In a cluster (SetCluster; package redisadapter provides one through
// Redis), servers behind a load balancer that does not pin clients serve
// each other's sessions: a polling request for a session another server
// holds is forwarded to it and its answer relayed, and a WebSocket upgrade
// takes the session over (cluster.go, forward.go, takeover.go). The engine
// owns that protocol; the Cluster interface only carries its messages, so
// engine knows nothing of Redis or of how servers reach each other.
//
// It must not know Socket.IO: packet semantics above Engine.IO MESSAGE
// belong to sio. It imports codec, pool, timer, ratelog and eventloop, never sio;
// none of their types appears in its exported API.
package engine
