package redisadapter

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/fanio/fanio/sio"
)

// offlineAdapters builds a classic and a sharded adapter on a Client that
// never connects: enough to feed their message handlers.
func offlineAdapters(tb testing.TB) (*classicAdapter, *shardedAdapter) {
	c := &Client{stop: make(chan struct{})}
	c.opts = Options{DialTimeout: time.Millisecond, MaxQueued: 64, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	c.opts.setDefaults()
	c.logs.log = c.opts.Logger
	c.sub = newSubscriber(c)
	c.pub = newPublisher(c)
	var ca *classicAdapter
	var sa *shardedAdapter
	srv1 := sio.NewServer(sio.Options{Logger: c.opts.Logger, Adapter: func(n *sio.Namespace) sio.Adapter { ca = newClassicAdapter(c, n); return ca }})
	srv2 := sio.NewServer(sio.Options{Logger: c.opts.Logger, Adapter: func(n *sio.Namespace) sio.Adapter { sa = newShardedAdapter(c, n); return sa }})
	tb.Cleanup(func() {
		close(c.stop)
		_ = srv1.Shutdown(context.Background())
		_ = srv2.Shutdown(context.Background())
	})
	return ca, sa
}

var fuzzSeeds = []string{
	// classic broadcast (notes §1.3, example A)
	"\x93\xa6aB3xY9\x83\xa4type\x02\xa4data\x92\xa5hello\xa5world\xa3nsp\xa1/\x83\xa5rooms\x91\xa5room1\xa6except\x90\xa5flags\x80",
	// emitter broadcast with binary and a numeric room
	"\x93\xa7emitter\x83\xa4type\x02\xa4data\x92\xa4file\xc4\x02\x01\x02\xa3nsp\xa1/\x83\xa5rooms\x91\x7b\xa5flags\x81\xa8volatile\xc3\xa6except\x90",
	`{"uid":"aB3xY9","requestId":"k2Lm9Q","type":5,"opts":{"rooms":["room1"],"except":[]}}`,
	`{"uid":"aB3xY9","type":2,"opts":{"rooms":[],"except":[]},"rooms":["vip"]}`,
	`{"uid":"aB3xY9","type":4,"opts":{"rooms":["room1"],"except":[]},"close":true}`,
	`{"uid":"aB3xY9","requestId":"Zz81aQ","type":6,"data":["ping"]}`,
	`{"type":6,"requestId":"Zz81aQ","data":"pong"}`,
	`{"type":8,"requestId":"Yq5rT0","clientCount":2}`,
	`{"requestId":"k2Lm9Q","sockets":[{"id":"Q2x3aVkB9lK0pTrUAAAB","handshake":{"headers":{"host":"a:3000"},"time":"Tue Nov 14 2023 22:13:20 GMT+0000 (Coordinated Universal Time)","address":"::1","xdomain":false,"secure":false,"issued":1700000000000,"url":"/","query":{"EIO":"4"},"auth":{}},"rooms":["Q2x3aVkB9lK0pTrUAAAB","room1"],"data":{}}]}`,
	`{"sid":"x","room":5,"requestId":"r","type":2}`,
	"\x85\xa3uid\xa6aB3xY9\xa9requestId\xa1r\xa4type\x07\xa6packet\x83\xa4type\x02\xa4data\x91\xa1q\xa3nsp\xa1/\xa4opts\x83\xa5rooms\x90\xa6except\x90\xa5flags\x81\xa7timeout\xcd\x13\x88",
	"\x83\xa4type\x09\xa9requestId\xa1r\xa6packet\xc4\x01\x07",
	// sharded (notes §1.8)
	`{"type":3,"data":{"packet":{"type":2,"data":["hello","world"]},"opts":{"rooms":["room1"],"except":[],"flags":{}}},"uid":"3f9a0c1b2d4e5f60","nsp":"/"}`,
	`{"type":7,"data":{"opts":{"rooms":["room1"],"except":[],"flags":{}},"requestId":"a1b2c3d4e5f60718"},"uid":"3f9a0c1b2d4e5f60","nsp":"/"}`,
	`{"type":8,"data":{"requestId":"a1b2c3d4e5f60718","sockets":[]},"uid":"7e6d5c4b3a291807","nsp":"/"}`,
	`{"type":4,"data":{"opts":{"rooms":[],"except":[],"flags":{}},"rooms":["vip"]},"uid":"3f9a0c1b2d4e5f60","nsp":"/"}`,
	`{"type":9,"data":{"requestId":"0f1e2d3c4b5a6978","packet":["ping"]},"uid":"3f9a0c1b2d4e5f60","nsp":"/"}`,
	`{"type":3,"data":{"packet":{"type":2,"data":["question"]},"requestId":"99aa88bb77cc66dd","opts":{"rooms":[],"except":[],"flags":{"timeout":5000}}},"uid":"3f9a0c1b2d4e5f60","nsp":"/"}`,
	`{"type":12,"data":{"requestId":"99aa88bb77cc66dd","packet":"answer"},"uid":"7e6d5c4b3a291807","nsp":"/"}`,
	"\x84\xa4type\x03\xa4data\x82\xa6packet\x82\xa4type\x02\xa4data\x92\xa1f\xc4\x01\x09\xa4opts\x80\xa3uid\xa1u\xa3nsp\xa1/",
	"", "{", "\xc1", "\x91",
}

// FuzzMessages feeds anything to every message handler of both protocols:
// no panic, no hang; bad input is dropped (and counted).
func FuzzMessages(f *testing.F) {
	for _, s := range fuzzSeeds {
		for which := byte(0); which < 5; which++ {
			f.Add([]byte(s), which)
		}
	}
	ca, sa := offlineAdapters(f)
	f.Fuzz(func(t *testing.T, msg []byte, which byte) {
		switch which % 5 {
		case 0:
			ca.onBroadcast(ca.channel, msg)
		case 1:
			ca.onRequest(ca.requestChannel, msg)
		case 2:
			ca.onResponse(ca.responseChannel, msg)
		case 3:
			sa.onRaw(sa.channel, msg)
		case 4:
			sa.onRaw(sa.responseChannel, msg)
		}
	})
}
