// Package redisadapter is a sio.Adapter that joins fanio servers — and
// Node.js servers running @socket.io/redis-adapter — into one cluster
// through Redis. (Full documentation: see the end of this work.)
package redisadapter
