// Package admin is the server side of the Socket.IO Admin UI
// (@socket.io/admin-ui 0.5.1): instrument a sio.Server, then connect the
// official UI — the hosted https://admin.socket.io, or its ui/dist served
// by anyone — to the server's admin namespace.
//
//	srv := sio.NewServer(sio.Options{CORS: &sio.CORS{Origins: []string{"https://admin.socket.io"}, Credentials: true}})
//	a, err := admin.Instrument(srv, admin.Options{
//		Auth: &admin.BasicAuth{Username: "admin", PasswordHash: "$2b$10$..."}, // bcrypt
//	})
//	defer a.Close()
//
// It speaks the protocol of the reference's instrument() (the note
// cluster-and-protocols.md §3 has the facts, with sources):
//
//   - the admin namespace ("/admin"), guarded by basic authentication —
//     a user name and a bcrypt hash ($2a$, $2b$, $2y$), checked once, then
//     a session id the UI keeps (Store) — or by nothing when NoAuth says
//     so explicitly; a failed login gets connect_error "invalid
//     credentials";
//   - "config" with the supported features, on each admin connection;
//     "server_stats" every 2 s (server id, host, pid, uptime, Engine.IO
//     clients, polling clients, per-second aggregated events — connections,
//     disconnections by reason, packets and bytes in and out — and each
//     namespace's socket count);
//   - in development mode (the default, as in the reference), the
//     sockets of every namespace cluster-wide on connection
//     ("all_sockets"), then a stream of socket_connected,
//     socket_disconnected, socket_updated (transport upgrades), room_joined,
//     room_left, event_received and event_sent;
//   - the UI's commands — emit, join, leave, _disconnect, for all sockets
//     of a namespace or those of a room or socket id — unless ReadOnly.
//
// Every event is emitted on the admin namespace, that is through its
// adapter: with a multi-node adapter, each node's stats and events reach
// the UIs connected to any node, and the commands (socketsJoin,
// socketsLeave, disconnectSockets, broadcasts) act on every node.
//
// Where it differs from the reference: "session" is sent right after the
// CONNECT packet, not from the middleware (before it), so the hosted UI,
// which listens for it only once connected, does get it; the aggregated
// events are sampled from the servers' counters each second instead of
// being pushed per packet (the UI sums them per 10 s); socket.data changes
// are not streamed (sio has no Proxy to watch them), the UI sees the data
// as of each socket's connection; a socket's data that is not a JSON
// object is shown as {"value": data}.
//
// Development mode costs: every socket gets OnAny and OnAnyOutgoing
// listeners (each event in or out becomes an admin broadcast, and
// broadcasts take the slower path that calls outgoing listeners), as in
// the reference. The events go through a bounded queue to one goroutine,
// so a slow admin namespace (a remote adapter) never blocks a handler;
// past 4096 waiting events new ones are dropped and counted (Dropped).
//
// It imports sio (its public API) and golang.org/x/crypto/bcrypt.
package admin
