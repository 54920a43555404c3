package loadgen

// The parent drives its workers with one JSON Command per line on their
// stdin and reads one JSON Reply per line from their stdout (progress
// lines are interleaved, Op "progress").

// WorkerConfig is the first line a worker reads.
type WorkerConfig struct {
	ID      int      `json:"id"`
	Targets []string `json:"targets"` // host:port; sockets are spread round-robin
	Path    string   `json:"path"`
	Srcs    []string `json:"srcs"` // local source addresses (127.0.0.x)
}

// Command is one instruction to a worker.
type Command struct {
	Op string `json:"op"` // connect, reset, snapshot, publish, echo, block, connectrate, closeall, exit

	// connect
	N           int    `json:"n,omitempty"`
	Transport   string `json:"transport,omitempty"` // websocket | polling
	Room        string `json:"room,omitempty"`      // join this room after connecting
	Role        string `json:"role,omitempty"`      // sub | echo
	App         bool   `json:"app,omitempty"`       // connect to /app as a real application's client would (auth payload, User-Agent)
	Concurrency int    `json:"concurrency,omitempty"`
	TimeoutMs   int    `json:"timeout_ms,omitempty"`

	// publish / echo / connectrate
	Rate       float64 `json:"rate,omitempty"` // per second; 0 = saturate (publish)
	DurationMs int     `json:"duration_ms,omitempty"`
	Size       int     `json:"size,omitempty"`
	Batch      int     `json:"batch,omitempty"`
	Window     int     `json:"window,omitempty"`
	Mode       string  `json:"mode,omitempty"`  // connectrate: websocket | upgrade
	Epoch      uint64  `json:"epoch,omitempty"` // reset: measurement window id carried by pubs
	Max        int     `json:"max,omitempty"`
	HoldMs     int     `json:"hold_ms,omitempty"` // block: how long each handler blocks
}

// Stats are a worker's counters since its last reset.
type Stats struct {
	Up        int64    `json:"up"`     // connections currently established
	Recv      int64    `json:"recv"`   // deliveries / acks / connects counted
	Sent      int64    `json:"sent"`   // messages emitted
	Errors    int64    `json:"errors"` // errors since reset
	Late      int64    `json:"late"`   // acks whose send time was no longer known
	Lost      int64    `json:"lost"`   // connections lost unexpectedly since reset
	Stale     int64    `json:"stale"`  // deliveries of pubs from an earlier window
	LastRecv  int64    `json:"last_recv_ns"`
	CPUUserUs int64    `json:"cpu_user_us"` // getrusage(RUSAGE_SELF) since reset
	CPUSysUs  int64    `json:"cpu_sys_us"`
	WallNs    int64    `json:"wall_ns"`
	MaxRSSKB  int64    `json:"max_rss_kb"`
	Hist      Hist     `json:"hist"`
	ErrSample []string `json:"err_sample,omitempty"`
}

// Reply is a worker's answer (or progress report).
type Reply struct {
	Op    string `json:"op"`
	Err   string `json:"err,omitempty"`
	ID    int    `json:"id"`
	Stats *Stats `json:"stats,omitempty"`

	// connect
	OK     int `json:"ok,omitempty"`
	Failed int `json:"failed,omitempty"`

	// publish / echo
	Sent    int64 `json:"sent,omitempty"`
	StartNs int64 `json:"start_ns,omitempty"`
	EndNs   int64 `json:"end_ns,omitempty"`

	// progress
	Up     int64 `json:"up,omitempty"`
	Recv   int64 `json:"recv,omitempty"`
	Errors int64 `json:"errors,omitempty"`
}
