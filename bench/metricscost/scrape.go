// Package metricscost measures what publishing metrics costs a fanio
// server under load — the fan-out and echo scenarios of fanio-bench run
// against the fixture server with and without -metrics (GET /metrics,
// handler timing on, scraped every second meanwhile), interleaved — and
// checks that the figures a scrape shows agree with what the load
// generator counted (`fanio-bench metrics`).
package metricscost

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Samples are the series of one scrape: "name{labels}" → value.
type Samples map[string]float64

// Scrape fetches a Prometheus text exposition.
func Scrape(url string) (Samples, error) {
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("scrape %s: %s", url, resp.Status)
	}
	out := Samples{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("scrape %s: bad line %q", url, line)
		}
		out[line[:i]] = v
	}
	return out, sc.Err()
}

// Delta is after minus before for series.
func Delta(before, after Samples, series string) float64 { return after[series] - before[series] }

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
