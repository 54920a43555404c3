package admin

import (
	"os"
	"time"

	"github.com/fanio/fanio/engine"
	"github.com/fanio/fanio/sio"
)

// server_stats (the reference's initStatsEmitter), emitted on the admin
// namespace every StatsInterval and once at the start.

type serverStats struct {
	ServerID            string      `json:"serverId"`
	Hostname            string      `json:"hostname"`
	PID                 int         `json:"pid"`
	Uptime              float64     `json:"uptime"`
	ClientsCount        int         `json:"clientsCount"`
	PollingClientsCount int         `json:"pollingClientsCount"`
	AggregatedEvents    []aggEvent  `json:"aggregatedEvents"`
	Namespaces          []nspDetail `json:"namespaces"`
}

type nspDetail struct {
	Name         string `json:"name"`
	SocketsCount int    `json:"socketsCount"`
}

// aggEvent is one bucket of the reference's EventBuffer: what happened in
// one second.
type aggEvent struct {
	Timestamp int64  `json:"timestamp"` // ms, a whole second
	Type      string `json:"type"`
	SubType   string `json:"subType,omitempty"`
	Count     uint64 `json:"count"`
}

// aggregator turns the engine's counters into the reference's aggregated
// events (rawConnection, rawDisconnection by reason, packetsIn/Out,
// bytesIn/Out) by difference between two samples; the reference pushes
// them one by one, which would cost the message path here.
type aggregator struct {
	eng  *engine.Server
	last engine.Stats
}

func (g *aggregator) init(srv *sio.Server) {
	g.eng = srv.Engine()
	g.last = g.eng.Stats()
}

// take returns what happened since the previous call, stamped with the
// current second.
func (g *aggregator) take(now time.Time) []aggEvent {
	st := g.eng.Stats()
	ts := now.Truncate(time.Second).UnixMilli()
	out := []aggEvent{}
	add := func(typ, sub string, cur, prev uint64) {
		if cur > prev {
			out = append(out, aggEvent{Timestamp: ts, Type: typ, SubType: sub, Count: cur - prev})
		}
	}
	add("rawConnection", "", st.SessionsOpened, g.last.SessionsOpened)
	for reason, n := range st.Closes {
		add("rawDisconnection", string(reason), n, g.last.Closes[reason])
	}
	add("packetsIn", "", st.PacketsReceived, g.last.PacketsReceived)
	add("packetsOut", "", st.PacketsSent, g.last.PacketsSent)
	add("bytesIn", "", st.BytesReceived, g.last.BytesReceived)
	add("bytesOut", "", st.BytesSent, g.last.BytesSent)
	g.last = st
	return out
}

func (a *Admin) statsLoop() {
	defer a.done.Done()
	a.emitStats()
	t := time.NewTicker(a.opts.StatsInterval)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
			a.emitStats()
		}
	}
}

func (a *Admin) emitStats() {
	now := time.Now()
	est := a.srv.Engine().Stats()
	st := serverStats{
		ServerID:            a.serverID,
		Hostname:            a.hostname,
		PID:                 os.Getpid(),
		Uptime:              now.Sub(processStart).Seconds(),
		ClientsCount:        est.PollingSessions + est.WebSocketSessions,
		PollingClientsCount: est.PollingSessions,
		AggregatedEvents:    a.agg.take(now),
	}
	for _, n := range a.srv.Namespaces() {
		st.Namespaces = append(st.Namespaces, nspDetail{Name: n.Name(), SocketsCount: n.SocketCount()})
	}
	if err := a.nsp.Emit("server_stats", st); err != nil {
		a.log.Warn("admin: cannot emit server_stats", "err", err)
	}
}
