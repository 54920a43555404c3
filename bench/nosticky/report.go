package nosticky

import (
	"fmt"
	"sort"
	"strings"
)

// Markdown renders the run as a BENCHMARKS.md section body: one table row
// per server, balancer and rate, then what forwarding adds (round-robin
// minus sticky at the same rate).
func (r *Result) Markdown(file string) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("%s, %s, %d CPUs; %d polling clients; per mode and rate %d windows of %.0f s, the sticky and round-robin windows interleaved; %s. Latencies are over every request of the windows; the CPU per request is the median window's.\n",
		r.Date[:10], r.Machine.CPUModel, r.Machine.Cores, r.Clients, r.Rounds, r.Window, r.Layout)
	w("Command: `%s`", r.CommandLine)
	if file != "" {
		w(" (results: `bench/results/%s`)", file)
	}
	w(".\n\n")
	w("| server | balancer | echo cycles/s | requests/s | POST p50 / p99 | GET p50 / p99 | nodes' CPU per request (user + sys) | forwarded | errors | other load |\n")
	w("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, x := range r.Rows {
		if x.FailedSetup != "" {
			w("| %s | %s | — | — | — | — | — | — | %d of %d clients failed to connect: `%s` | |\n",
				x.Server, x.Balancer, x.Errors, int64(x.ClientsUp)+x.Errors, trim(x.FailedSetup, 90))
			continue
		}
		errs := fmt.Sprint(x.Errors)
		if x.FirstError != "" {
			errs += ": `" + trim(x.FirstError, 60) + "`"
		}
		fwd := "—"
		if x.Server == "fanio" {
			fwd = fmt.Sprintf("%d (%.0f %%)", x.Forwarded, 100*float64(x.Forwarded)/max(float64(x.Requests), 1))
		}
		w("| %s | %s | %.0f | %.0f | %.0f / %.0f µs | %.0f / %.0f µs | %.1f + %.1f µs | %s | %s | %.2f cores |\n",
			x.Server, x.Balancer, x.Offered, x.PerSec, x.Post.P50Us, x.Post.P99Us, x.Get.P50Us, x.Get.P99Us,
			x.UserUsReq, x.SysUsReq, fwd, errs, x.OtherCores)
	}
	w("\n")
	for _, rr := range r.Rows {
		if rr.Server != "fanio" || rr.Balancer != "round-robin" || rr.FailedSetup != "" || rr.Requests == 0 {
			continue
		}
		for _, st := range r.Rows {
			if st.Server != "fanio" || st.Balancer != "sticky" || st.Offered != rr.Offered || st.Requests == 0 {
				continue
			}
			// Each round of one mode with the same round of the other.
			var perFwd []float64
			for i := 0; i < len(rr.Rounds) && i < len(st.Rounds); i++ {
				fw, sk := rr.Rounds[i], st.Rounds[i]
				if fw.Forwarded > 0 {
					extra := (fw.UserUsReq + fw.SysUsReq) - (sk.UserUsReq + sk.SysUsReq)
					perFwd = append(perFwd, extra*float64(fw.Requests)/float64(fw.Forwarded))
				}
			}
			sort.Float64s(perFwd)
			fwd := "—"
			if n := len(perFwd); n > 0 {
				fwd = fmt.Sprintf("%.1f µs (median of %d rounds; %.1f to %.1f)", perFwd[n/2], n, perFwd[0], perFwd[n-1])
			}
			w("- fanio at %.0f cycles/s: forwarding adds POST %+.0f / %+.0f µs and GET %+.0f / %+.0f µs (p50 / p99) per request; the nodes' CPU per forwarded request: %s.\n",
				rr.Offered, rr.Post.P50Us-st.Post.P50Us, rr.Post.P99Us-st.Post.P99Us, rr.Get.P50Us-st.Get.P50Us, rr.Get.P99Us-st.Get.P99Us, fwd)
		}
	}
	return b.String()
}

func trim(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "|", "/")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
