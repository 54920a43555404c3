package codec

import (
	"strings"
	"testing"
)

var serveClientCodings = []string{"br", "gzip", "deflate"}

func TestPreferredEncoding(t *testing.T) {
	for _, tc := range []struct {
		accept  string
		offered []string
		want    string // "" for none
	}{
		{"", serveClientCodings, ""},
		{"identity", serveClientCodings, ""},
		{"gzip", serveClientCodings, "gzip"},
		{"GZIP", serveClientCodings, "gzip"},
		// Chromium and Firefox: equal weights, the header's order decides.
		{"gzip, deflate, br, zstd", serveClientCodings, "gzip"},
		{"deflate, gzip, br, zstd", serveClientCodings, "deflate"},
		{"br, gzip", serveClientCodings, "br"},
		{"br, gzip", []string{"gzip", "deflate"}, "gzip"},
		// Weights.
		{"gzip;q=0.5, deflate", serveClientCodings, "deflate"},
		{"gzip;q=0.5, deflate;q=0.8", serveClientCodings, "deflate"},
		{"gzip; q=1.0, deflate;q=0.999", serveClientCodings, "gzip"},
		{"gzip;q=0, deflate;q=0", serveClientCodings, ""},
		{"gzip;q=0.000", []string{"gzip"}, ""},
		{"gzip;q=abc", []string{"gzip"}, ""},
		{"gzip;q=", []string{"gzip"}, ""},
		{"gzip;foo=bar;q=0.2, deflate;q=0.1", serveClientCodings, "gzip"},
		// "*" covers what is not named; a name beats "*".
		{"*", serveClientCodings, "br"},
		{"*", []string{"gzip", "deflate"}, "gzip"},
		{"*;q=0.5, deflate", serveClientCodings, "deflate"},
		{"gzip;q=0, *", []string{"gzip", "deflate"}, "deflate"},
		{"*;q=0", serveClientCodings, ""},
		{"*;q=0, gzip", serveClientCodings, "gzip"},
		// An exact element with a lower weight still beats "*".
		{"*, gzip;q=0.1", []string{"gzip"}, "gzip"},
		{"*;q=0.9, gzip;q=0.1", []string{"gzip", "deflate"}, "deflate"},
		// Empty elements and junk.
		{" , ,gzip,,", serveClientCodings, "gzip"},
		{";q=1", serveClientCodings, ""},
		{"x-gzip", serveClientCodings, ""},
	} {
		i := PreferredEncoding([]byte(tc.accept), tc.offered)
		got := ""
		if i >= 0 {
			got = tc.offered[i]
		}
		if got != tc.want {
			t.Errorf("PreferredEncoding(%q, %v) = %q, want %q", tc.accept, tc.offered, got, tc.want)
		}
	}
}

func TestPreferredEncodingAllocs(t *testing.T) {
	v := []byte("gzip;q=0.8, deflate;q=0.7, br;q=0.9, *;q=0.1")
	if n := testing.AllocsPerRun(100, func() { PreferredEncoding(v, serveClientCodings) }); n != 0 {
		t.Fatalf("PreferredEncoding allocates %v times per call", n)
	}
}

func TestParseWeight(t *testing.T) {
	for in, want := range map[string]int64{
		"1": 1e6, "1.": 1e6, "1.000": 1e6, "0.5": 5e5, ".5": 5e5, "0.001": 1e3,
		"0.0000001": 0, "0": 0, "": 0, "abc": 0, "0.5abc": 5e5, "2": 2e6, "-1": 0,
	} {
		if got := parseWeight([]byte(in)); got != want {
			t.Errorf("parseWeight(%q) = %d, want %d", in, got, want)
		}
	}
	if parseWeight([]byte(strings.Repeat("9", 100))) <= 1e6 {
		t.Error("a huge weight must rank above 1 and not overflow")
	}
}

func TestIfNoneMatch(t *testing.T) {
	const etag = `"4.8.4"`
	for in, want := range map[string]bool{
		`"4.8.4"`:             true,
		`W/"4.8.4"`:           true,
		`*`:                   true,
		`"a", "4.8.4"`:        true,
		`"a",W/"4.8.4" , "b"`: true,
		`"4.8.3"`:             false,
		`4.8.4`:               false,
		``:                    false,
		`"4.8.4`:              false,
		`"a, "4.8.4"`:         false, // the comma is inside a quoted string
		`W/`:                  false,
	} {
		if got := IfNoneMatch([]byte(in), etag); got != want {
			t.Errorf("IfNoneMatch(%q, %s) = %v, want %v", in, etag, got, want)
		}
	}
	if !IfNoneMatch([]byte(`"x"`), `W/"x"`) {
		t.Error("a weak etag must match its strong form")
	}
}

// refPreferredEncoding is negotiator 0.6's algorithm with strings and a
// sort, to check PreferredEncoding's single pass against.
func refPreferredEncoding(accept string, offered []string) int {
	type spec struct {
		q    int64
		s, o int
		i    int
	}
	var specs []spec
	for i, coding := range offered {
		best := spec{o: -1, i: i}
		for idx, el := range strings.Split(accept, ",") {
			name, params, _ := strings.Cut(strings.Trim(el, " \t"), ";")
			name = strings.Trim(name, " \t")
			if name == "" {
				continue
			}
			s := 0
			if strings.EqualFold(name, coding) {
				s = 1
			} else if name != "*" {
				continue
			}
			q := int64(1e6)
			for _, p := range strings.Split(params, ";") {
				k, v, ok := strings.Cut(p, "=")
				if ok && strings.EqualFold(strings.Trim(k, " \t"), "q") {
					q = parseWeight([]byte(strings.Trim(v, " \t")))
					break
				}
			}
			if s > best.s || (s == best.s && (q > best.q || (q == best.q && idx > best.o))) {
				best = spec{q: q, s: s, o: idx, i: i}
			}
		}
		if best.q > 0 {
			specs = append(specs, best)
		}
	}
	res := -1
	for k, sp := range specs {
		if k == 0 {
			res = k
			continue
		}
		b := specs[res]
		if sp.q > b.q || (sp.q == b.q && (sp.s > b.s || (sp.s == b.s && (sp.o < b.o || (sp.o == b.o && sp.i < b.i))))) {
			res = k
		}
	}
	if res < 0 {
		return -1
	}
	return specs[res].i
}

func FuzzPreferredEncoding(f *testing.F) {
	for _, s := range []string{
		"", "gzip, deflate, br, zstd", "*;q=0.5, deflate", "gzip;q=0, *", "br;q=0.9, gzip;q=0.9;x=1",
		" , ,gzip,,", "GZIP;Q=0.3", "*;q=0, gzip", "deflate;q=2, *;q=3",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, accept string) {
		got := PreferredEncoding([]byte(accept), serveClientCodings)
		if got < -1 || got >= len(serveClientCodings) {
			t.Fatalf("index %d out of range", got)
		}
		if strings.Contains(accept, `"`) {
			return // the reference splits on every comma, even quoted ones
		}
		if want := refPreferredEncoding(accept, serveClientCodings); got != want {
			t.Fatalf("PreferredEncoding(%q) = %d, reference %d", accept, got, want)
		}
	})
}

func FuzzIfNoneMatch(f *testing.F) {
	f.Add(`"4.8.4"`, `"4.8.4"`)
	f.Add(`W/"a", "b"`, `"b"`)
	f.Add(`*`, `"x"`)
	f.Add(`"a,b", "c"`, `"c"`)
	f.Fuzz(func(t *testing.T, v, etag string) {
		got := IfNoneMatch([]byte(v), etag)
		if weak := IfNoneMatch([]byte(v), "W/"+etag); len(etag) > 0 && !strings.HasPrefix(etag, "W/") && weak != got {
			t.Fatalf("IfNoneMatch(%q) differs for %q (%v) and its weak form (%v)", v, etag, got, weak)
		}
		if len(etag) > 0 && !strings.ContainsAny(etag, ",\" \t") && !IfNoneMatch([]byte(etag), etag) {
			t.Fatalf("%q does not match itself", etag)
		}
	})
}
