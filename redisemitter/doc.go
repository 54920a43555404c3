// Package redisemitter sends to the sockets of a Socket.IO cluster from a
// Go program that runs no Socket.IO server: the Go counterpart of
// @socket.io/redis-emitter. It publishes on Redis in the formats of
// @socket.io/redis-adapter, so every node of the cluster — fanio with
// redisadapter, or Node.js with @socket.io/redis-adapter — delivers what
// it sends to its own sockets.
//
//	em, err := redisemitter.New(ctx, redisemitter.Options{URL: "redis://127.0.0.1:6379"})
//	defer em.Close()
//	err = em.To("news").Emit("headline", map[string]any{"title": "..."})
//	err = em.Of("/admin").In("room1").SocketsJoin("room2")
//	err = em.ServerSideEmit("reload-config")
//
// Arguments follow sio.Socket.Emit's rules ([]byte is binary, sent as
// such). Every method publishes once and returns Redis's error; nothing
// is queued or retried, and there are no acknowledgements (as with the
// Node emitter: nothing answers an emitter).
//
// In classic mode (the default) it writes the messages
// @socket.io/redis-emitter 5.1 writes (the same channels, types and fields;
// only the order of the options' keys may differ): MessagePack
// ["emitter", packet, opts] on <key>#<nsp># (or <key>#<nsp>#<room># for one
// room), and JSON requests without uid on <key>-request#<nsp>#. With Options.Sharded it speaks the
// protocol of createShardedAdapter instead (ClusterMessages with uid
// "emitter", SPUBLISH), which the Node emitter cannot.
//
// It owns only its Redis client (when it dials one); it imports sio for
// the encoding of arguments (no server is started), internal/msgpack and
// internal/rediswire for the wire formats, and rueidis.
package redisemitter
