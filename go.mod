module github.com/fanio/fanio

go 1.26

require (
	github.com/VictoriaMetrics/metrics v1.45.0
	github.com/gobwas/ws v1.5.0
	github.com/klauspost/compress v1.20.3
	github.com/panjf2000/gnet/v2 v2.10.0
	github.com/redis/rueidis v1.0.79
	github.com/valyala/bytebufferpool v1.0.0
	golang.org/x/crypto v0.55.0
	golang.org/x/sys v0.47.0
)

require (
	github.com/gobwas/httphead v0.1.0 // indirect
	github.com/panjf2000/ants/v2 v2.12.1 // indirect
	github.com/valyala/fastrand v1.1.0 // indirect
	github.com/valyala/histogram v1.2.0 // indirect
	go.uber.org/multierr v1.11.0 // indirect
	go.uber.org/zap v1.28.0 // indirect
	golang.org/x/sync v0.11.0 // indirect
	gopkg.in/natefinch/lumberjack.v2 v2.2.1 // indirect
)
