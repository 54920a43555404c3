package codec

// Content negotiation and conditional requests for static responses (the
// client bundle a Socket.IO server serves under its path).

// PreferredEncoding returns the index in offered of the content coding an
// Accept-Encoding value prefers, or -1 when it accepts none of them (the
// response then goes without a coding, "identity"). An empty value accepts
// none.
//
// The choice is the one socket.io's serveClient makes (npm negotiator 0.6,
// through accepts): each offered coding takes the weight of the element that
// names it (case-insensitively) or else of a "*" element — an exact name
// beats "*", then the higher weight, then the later element; codings of
// weight 0 are dropped; the rest rank by weight, then exact before "*",
// then by the position of their element in the header, then by their order
// in offered. A weight that is not a number counts as 0.
func PreferredEncoding(acceptEncoding []byte, offered []string) int {
	best := -1
	var bestQ int64
	var bestS, bestO int
	for i, coding := range offered {
		q, s, o := codingWeight(acceptEncoding, coding)
		if q <= 0 {
			continue
		}
		if best < 0 || q > bestQ || (q == bestQ && (s > bestS || (s == bestS && o < bestO))) {
			best, bestQ, bestS, bestO = i, q, s, o
		}
	}
	return best
}

// codingWeight returns the weight (in millionths) an Accept-Encoding value
// gives coding, with its specificity (1 exact, 0 "*") and the position of
// the element that decided; q is 0 when no element applies.
func codingWeight(v []byte, coding string) (q int64, s, o int) {
	o = -1
	for idx, rest := 0, v; rest != nil; idx++ {
		var el []byte
		el, rest = nextListElement(rest)
		name, params := nextParam(el)
		if len(name) == 0 {
			continue
		}
		es := 0
		switch {
		case equalFold(name, coding):
			es = 1
		case len(name) == 1 && name[0] == '*':
		default:
			continue
		}
		eq := paramQ(params)
		// Keep the more specific element, then the heavier, then the later.
		if es > s || (es == s && (eq > q || (eq == q && idx > o))) {
			q, s, o = eq, es, idx
		}
	}
	return q, s, o
}

// paramQ returns the "q" parameter of a parameter list in millionths: 1e6
// when there is none, 0 when it is not a number (as JavaScript's parseFloat
// gives NaN, which no comparison accepts). Digits past the sixth decimal
// are ignored; the integer part is capped so that the result cannot
// overflow.
func paramQ(params []byte) int64 {
	for rest := params; rest != nil; {
		var p []byte
		p, rest = nextParam(rest)
		i := 0
		for i < len(p) && p[i] != '=' {
			i++
		}
		if i == len(p) || !equalFold(trimOWS(p[:i]), "q") {
			continue
		}
		return parseWeight(trimOWS(p[i+1:]))
	}
	return 1e6
}

// parseWeight reads the longest prefix of v that is a decimal number
// ("1", "0.5", ".5", "1.") as parseFloat would, in millionths.
func parseWeight(v []byte) int64 {
	var n int64
	digits := 0
	i := 0
	for ; i < len(v) && v[i] >= '0' && v[i] <= '9'; i++ {
		if n < 1e6 { // weights above 1 rank above 1; how far above no longer matters
			n = n*10 + int64(v[i]-'0')
		}
		digits++
	}
	n *= 1e6
	if i < len(v) && v[i] == '.' {
		scale := int64(1e5)
		for i++; i < len(v) && v[i] >= '0' && v[i] <= '9'; i++ {
			n += int64(v[i]-'0') * scale
			scale /= 10
			digits++
		}
	}
	if digits == 0 {
		return 0
	}
	return n
}

// IfNoneMatch reports whether an If-None-Match value matches etag (a
// quoted entity tag, optionally weak: "W/\"v\""), by the weak comparison
// RFC 9110 section 13.1.2 prescribes: "*" matches any tag, and each
// listed tag matches when its opaque part equals etag's, either of them
// weak or not. An empty value matches nothing.
func IfNoneMatch(ifNoneMatch []byte, etag string) bool {
	if len(etag) > 2 && etag[:2] == "W/" {
		etag = etag[2:]
	}
	for rest := ifNoneMatch; rest != nil; {
		var el []byte
		el, rest = nextListElement(rest)
		if len(el) == 1 && el[0] == '*' {
			return true
		}
		if len(el) > 2 && el[0] == 'W' && el[1] == '/' {
			el = el[2:]
		}
		if len(el) > 0 && string(el) == etag {
			return true
		}
	}
	return false
}
