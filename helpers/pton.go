package helpers

// in4pton and in6pton read an address the way the kernel's in4_pton and
// in6_pton (net/core/utils.c) do, which the FTP and SIP helpers use:
// what they accept, and where they stop, decide what the helpers match,
// so they are ported state for state rather than replaced by
// netip.ParseAddr. A byte equal to delim, a NUL, or the end of the input
// ends the address.

const (
	ptonXDigit   = 0x00010000
	ptonDigit    = 0x00020000
	ptonColonMsk = 0x00700000
	ptonColon1   = 0x00100000 // a single ':' is wanted
	ptonColon2   = 0x00200000 // the second ':' of "::" is wanted
	ptonColon12  = 0x00400000 // "::" is wanted
	ptonDot      = 0x00800000
	ptonDelim    = 0x10000000
	ptonNull     = 0x20000000 // first word, or after "::"
	ptonUnknown  = 0x40000000
)

// xdigit2bin classifies one byte of an address (the kernel compares it
// as a signed char, so no byte above 0x7f is ever the delimiter).
func xdigit2bin(c byte, end bool, delim int) int {
	if end || int(int8(c)) == delim || c == 0 {
		return ptonDelim
	}
	switch {
	case c == ':':
		return ptonColonMsk
	case c == '.':
		return ptonDot
	case c >= '0' && c <= '9':
		return int(c-'0') | ptonXDigit | ptonDigit
	case c >= 'a' && c <= 'f':
		return int(c-'a'+10) | ptonXDigit
	case c >= 'A' && c <= 'F':
		return int(c-'A'+10) | ptonXDigit
	}
	if delim == -1 {
		return ptonDelim
	}
	return ptonUnknown
}

// in4pton parses a dotted IPv4 address from src[i:] (of which srclen
// bytes are readable, srclen ≤ len(src)-i), and returns it, whether it
// parsed, and the index where it stopped.
func in4pton(src []byte, i, srclen int, delim int) ([4]byte, bool, int) {
	var d [4]byte
	n := 0
	// w accumulates the digits' classes, flag bits and all, as the
	// kernel's does: it is 0 only before the first digit, and its low
	// 16 bits are the octet's value.
	var w int32
	for {
		c := xdigit2bin(byteAt(src, i), srclen <= 0, delim)
		if c&(ptonDigit|ptonDot|ptonDelim|ptonColonMsk) == 0 {
			return d, false, i
		}
		if c&(ptonDot|ptonDelim|ptonColonMsk) != 0 {
			if w == 0 {
				return d, false, i
			}
			d[n] = byte(w)
			w = 0
			n++
			if c&(ptonDelim|ptonColonMsk) != 0 {
				if n != 4 {
					return d, false, i
				}
				return d, true, i
			}
		} else {
			w = w*10 + int32(c)
			if w&0xffff > 255 {
				return d, false, i
			}
		}
		if n >= 4 {
			return d, false, i
		}
		i++
		srclen--
	}
}

// byteAt returns b[i], or 0 past its end.
func byteAt(b []byte, i int) byte {
	if i >= 0 && i < len(b) {
		return b[i]
	}
	return 0
}

// in6pton parses an IPv6 address from src, reading at most srclen
// bytes, and returns it, whether it parsed, and how many bytes it read
// before stopping (where the kernel's *end points).
func in6pton(src []byte, srclen int, delim int) ([16]byte, bool, int) {
	var dst, dbuf [16]byte
	d, dc, tok := 0, -1, -1
	state := ptonColon12 | ptonXDigit | ptonNull
	w := 0
	s := 0
	for {
		c := xdigit2bin(byteAt(src, s), srclen <= 0, delim)
		if c&state == 0 {
			return dst, false, s
		}
		if c&(ptonDelim|ptonColonMsk) != 0 {
			// The end of one 16-bit word.
			if state&ptonNull == 0 && d+1 < len(dbuf) {
				dbuf[d], dbuf[d+1] = byte(w>>8), byte(w)
				d += 2
			}
			w = 0
			if c&ptonDelim != 0 {
				break
			}
			switch state & ptonColonMsk {
			case ptonColon2:
				dc = d
				state = ptonXDigit | ptonDelim
				if dc >= len(dbuf) {
					state |= ptonNull
				}
			case ptonColon1 | ptonColon12:
				state = ptonXDigit | ptonColon2
			case ptonColon1:
				state = ptonXDigit
			case ptonColon12:
				state = ptonColon2
			default:
				state = 0
			}
			tok = s + 1
		} else {
			if c&ptonDot != 0 {
				start := tok
				if start < 0 {
					start = s
				}
				a, ok, end := in4pton(src, start, srclen+(s-start), delim)
				s = end
				if !ok {
					return dst, false, s
				}
				copy(dbuf[d:], a[:])
				d += 4
				break
			}
			w = w<<4 | c&0xff
			state = ptonColon1 | ptonDelim
			if w&0xf000 == 0 {
				state |= ptonXDigit
			}
			if dc < 0 && d+2 < len(dbuf) {
				state |= ptonColon12
				state &^= ptonDelim
			}
			if d+2 >= len(dbuf) {
				state &^= ptonColon1 | ptonColon12
			}
		}
		if (dc >= 0 && d+4 < len(dbuf)) || d+4 == len(dbuf) {
			state |= ptonDot
		}
		if d >= len(dbuf) {
			state &^= ptonXDigit | ptonColonMsk
		}
		s++
		srclen--
	}
	// Words after "::" go to the end; zeros fill the gap.
	i := 15
	d--
	if dc >= 0 {
		for d >= dc {
			dst[i] = dbuf[d]
			i--
			d--
		}
		for i >= dc {
			dst[i] = 0
			i--
		}
		for i >= 0 {
			dst[i] = dbuf[d]
			i--
			d--
		}
	} else {
		dst = dbuf
	}
	return dst, true, s
}
