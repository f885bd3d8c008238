package filter

import (
	"encoding/binary"
	"net/netip"

	"github.com/nfgo/nfgo/packet"
)

// The IPv6 extension-header matches of ip6tables: frag, hbh, dst, rt, ah,
// mh, ipv6header, eui64 and srh (net/ipv6/netfilter/ip6t_*.c). Each
// finds its header as ipv6_find_hdr does (findIPv6Header) and reads it
// in place; none allocates.

// The IPv6 next-header values the walk knows.
const (
	nextHop      = 0
	nextRouting  = 43
	nextFragment = 44
	nextESP      = 50
	nextAuth     = 51
	nextNone     = 59
	nextDest     = 60
)

func isIPv6ExtHeader(n uint8) bool {
	switch n {
	case nextHop, nextRouting, nextFragment, nextAuth, nextNone, nextDest:
		return true
	}
	return false
}

// findResult is ipv6_find_hdr's outcome.
type findResult uint8

const (
	headerFound    findResult = iota
	headerNotFound            // -ENOENT
	headerBad                 // -EBADMSG: the chain runs past the packet
)

// findIPv6Header is ipv6_find_hdr(skb, &off, target, NULL, NULL): the
// offset of the first header of type target in the chain. The walk
// stops at a header that is not an extension header (ESP included), at
// "no next header", and behind a later fragment, where target is not
// found.
func findIPv6Header(b []byte, target uint8) (int, findResult) {
	if len(b) < 40 {
		return 0, headerBad
	}
	next, start := b[6], 40
	for {
		found := next == target
		if !isIPv6ExtHeader(next) || next == nextNone {
			if found {
				return start, headerFound
			}
			return 0, headerNotFound
		}
		if start+2 > len(b) {
			return 0, headerBad
		}
		var hl int
		switch next {
		case nextRouting:
			if start+4 > len(b) {
				return 0, headerBad
			}
			hl = (int(b[start+1]) + 1) * 8
		case nextFragment:
			if start+4 > len(b) {
				return 0, headerBad
			}
			if binary.BigEndian.Uint16(b[start+2:])&^7 != 0 {
				if !found {
					return 0, headerNotFound
				}
				return start, headerFound
			}
			hl = 8
		case nextAuth:
			hl = (int(b[start+1]) + 2) * 4
		default:
			hl = (int(b[start+1]) + 1) * 8
		}
		if found {
			return start, headerFound
		}
		next = b[start]
		start += hl
	}
}

// findOrDrop finds the header for the matches that drop a packet whose
// chain cannot be walked (all but srh).
func findOrDrop(c *Context, target uint8) (int, bool) {
	b := c.Packet.Bytes()
	off, r := findIPv6Header(b, target)
	switch r {
	case headerFound:
		return off, true
	case headerBad:
		c.HotDrop = true
	}
	return 0, false
}

// FragMatch is ip6tables' -m frag (ip6t_frag.c): the Fragment header's
// identification within IDs (IDMin..IDMax, inverted by InvertIDs) and
// the flag tests. --fraglen is kept and saved but, as in the kernel,
// never tested.
type FragMatch struct {
	IDMin, IDMax uint32
	InvertIDs    bool
	// Len is --fraglen (HasLen), ignored by the kernel.
	Len       uint32
	HasLen    bool
	InvertLen bool
	// Res, First, More and Last are --fragres, --fragfirst, --fragmore
	// and --fraglast.
	Res, First, More, Last bool
}

// Name returns "frag".
func (*FragMatch) Name() string { return "frag" }

// Match follows frag_mt6.
func (m *FragMatch) Match(c *Context) bool {
	if c.Packet.Family != packet.IPv6 {
		return false
	}
	off, ok := findOrDrop(c, nextFragment)
	if !ok {
		return false
	}
	b := c.Packet.Bytes()
	if off+8 > len(b) {
		c.HotDrop = true
		return false
	}
	fo := binary.BigEndian.Uint16(b[off+2:])
	id := binary.BigEndian.Uint32(b[off+4:])
	return (id >= m.IDMin && id <= m.IDMax) != m.InvertIDs &&
		!(m.Res && (b[off+1] != 0 || fo&6 != 0)) &&
		!(m.First && fo&^7 != 0) &&
		!(m.More && fo&1 == 0) &&
		!(m.Last && fo&1 != 0)
}

// OptsMatch is what ip6tables' -m hbh and -m dst test (ip6t_hbh.c):
// the first Hop-by-Hop (HBHMatch) or Destination Options (DstMatch)
// header, its total length (Len, when HasLen), and the options it begins
// with.
type OptsMatch struct {
	Len       uint32
	HasLen    bool
	InvertLen bool
	// Opts are the options the header must begin with, in order, each
	// type<<8|len, a len of 0xFF meaning any length; HasOpts says the
	// list was given.
	Opts    []uint16
	HasOpts bool
}

// Options returns the match's options, for code that serves both hbh
// and dst.
func (m *OptsMatch) Options() *OptsMatch { return m }

// HBHMatch is -m hbh: OptsMatch on the Hop-by-Hop Options header.
type HBHMatch struct{ OptsMatch }

// Name returns "hbh".
func (*HBHMatch) Name() string { return "hbh" }

// Match tests the Hop-by-Hop Options header.
func (m *HBHMatch) Match(c *Context) bool { return m.match(c, nextHop) }

// DstMatch is -m dst: OptsMatch on the first Destination Options header.
type DstMatch struct{ OptsMatch }

// Name returns "dst".
func (*DstMatch) Name() string { return "dst" }

// Match tests the Destination Options header.
func (m *DstMatch) Match(c *Context) bool { return m.match(c, nextDest) }

// match follows hbh_mt6 (strict mode, the only one the kernel has).
func (m *OptsMatch) match(c *Context, target uint8) bool {
	if c.Packet.Family != packet.IPv6 {
		return false
	}
	ptr, ok := findOrDrop(c, target)
	if !ok {
		return false
	}
	b := c.Packet.Bytes()
	l := uint32(len(b))
	hdrlen := (uint32(b[ptr+1]) + 1) * 8
	if l-uint32(ptr) < hdrlen {
		return false
	}
	ret := !m.HasLen || (m.Len == hdrlen) != m.InvertLen
	p := uint32(ptr) + 2
	hdrlen -= 2
	if !m.HasOpts {
		return ret
	}
	n := len(m.Opts)
	i := 0
	for ; i < n; i++ {
		if hdrlen < 1 || p >= l {
			break
		}
		typ := b[p]
		if typ != uint8(m.Opts[i]>>8) {
			return false
		}
		optlen := uint32(1)
		if typ != 0 {
			if hdrlen < 2 || p+1 >= l {
				break
			}
			spec := m.Opts[i] & 0xff
			if spec != 0xff && spec != uint16(b[p+1]) {
				return false
			}
			optlen = uint32(b[p+1]) + 2
		}
		if (p > l-optlen || hdrlen < optlen) && i < n-1 {
			break
		}
		p += optlen
		hdrlen -= optlen
	}
	return i == n && ret
}

// RTMatch is ip6tables' -m rt (ip6t_rt.c): the first Routing header's
// type, segments left, length, and for type 0 its reserved field and
// addresses.
type RTMatch struct {
	Type          uint32
	HasType       bool
	InvertType    bool
	SegsMin       uint32
	SegsMax       uint32
	InvertSegs    bool
	HasSegs       bool
	Len           uint32
	HasLen        bool
	InvertLen     bool
	Res           bool
	Addrs         []netip.Addr
	HasAddrs      bool
	AddrsNoStrict bool
}

// Name returns "rt".
func (*RTMatch) Name() string { return "rt" }

// Match follows rt_mt6.
func (m *RTMatch) Match(c *Context) bool {
	if c.Packet.Family != packet.IPv6 {
		return false
	}
	ptr, ok := findOrDrop(c, nextRouting)
	if !ok {
		return false
	}
	b := c.Packet.Bytes()
	if ptr+4 > len(b) {
		c.HotDrop = true
		return false
	}
	hdrlen := (int(b[ptr+1]) + 1) * 8
	if len(b)-ptr < hdrlen {
		return false
	}
	segs := uint32(b[ptr+3])
	ret := (segs >= m.SegsMin && segs <= m.SegsMax) != m.InvertSegs &&
		(!m.HasLen || (m.Len == uint32(hdrlen)) != m.InvertLen) &&
		(!m.HasType || (m.Type == uint32(b[ptr+2])) != m.InvertType)
	if ret && m.Res {
		if ptr+8 > len(b) {
			c.HotDrop = true
			return false
		}
		ret = binary.BigEndian.Uint32(b[ptr+4:]) == 0
	}
	if !m.HasAddrs {
		return ret
	}
	n := (hdrlen - 8) / 16
	if len(m.Addrs) > n {
		return false
	}
	addr := func(i int) netip.Addr {
		return netip.AddrFrom16([16]byte(b[ptr+8+16*i : ptr+24+16*i]))
	}
	if m.AddrsNoStrict {
		i := 0
		for t := 0; t < n && i < len(m.Addrs); t++ {
			if addr(t) == m.Addrs[i] {
				i++
			}
		}
		return i == len(m.Addrs) && ret
	}
	t := 0
	for t < len(m.Addrs) && addr(t) == m.Addrs[t] {
		t++
	}
	return t == len(m.Addrs) && t == n && ret
}

// AH6Match is ip6tables' -m ah (ip6t_ah.c): the AH header's SPI within
// SPIMin..SPIMax, its total length (Len; 0 means not tested, even
// inverted) and, with Res, a zero reserved field.
type AH6Match struct {
	SPIMin, SPIMax uint32
	InvertSPI      bool
	Len            uint32
	InvertLen      bool
	Res            bool
}

// Name returns "ah".
func (*AH6Match) Name() string { return "ah" }

// Match follows ah_mt6.
func (m *AH6Match) Match(c *Context) bool {
	if c.Packet.Family != packet.IPv6 {
		return false
	}
	ptr, ok := findOrDrop(c, nextAuth)
	if !ok {
		return false
	}
	b := c.Packet.Bytes()
	if ptr+12 > len(b) {
		c.HotDrop = true
		return false
	}
	hdrlen := (uint32(b[ptr+1]) + 2) * 4
	spi := binary.BigEndian.Uint32(b[ptr+4:])
	return (spi >= m.SPIMin && spi <= m.SPIMax) != m.InvertSPI &&
		(m.Len == 0 || (m.Len == hdrlen) != m.InvertLen) &&
		!(m.Res && binary.BigEndian.Uint16(b[ptr+2:]) != 0)
}

// MHMatch is ip6tables' -m mh (ip6t_mh.c), for -p mobility-header: the
// Mobility Header's type within TypeMin..TypeMax.
type MHMatch struct {
	TypeMin, TypeMax uint8
	Invert           bool
}

// Name returns "mh".
func (*MHMatch) Name() string { return "mh" }

// RequiredProto binds the match to -p mobility-header (ip6t_mh's .proto).
func (*MHMatch) RequiredProto() (uint8, bool) { return 135, false }

// Match follows mh_mt6: a later fragment never matches; a header too
// short, or whose payload protocol is not "no next header", drops the
// packet.
func (m *MHMatch) Match(c *Context) bool {
	h, ok := firstFragmentHeader(c, 6)
	if !ok {
		return false
	}
	if h[0] != nextNone {
		c.HotDrop = true
		return false
	}
	return (h[2] >= m.TypeMin && h[2] <= m.TypeMax) != m.Invert
}

// The ipv6header bits (MASK_HOPOPTS … MASK_PROTO).
const (
	IPv6HeaderHop      uint8 = 0x80
	IPv6HeaderDst      uint8 = 0x40
	IPv6HeaderRouting  uint8 = 0x20
	IPv6HeaderFragment uint8 = 0x10
	IPv6HeaderAuth     uint8 = 0x08
	IPv6HeaderESP      uint8 = 0x04
	IPv6HeaderNone     uint8 = 0x02
	IPv6HeaderProto    uint8 = 0x01
)

// IPv6HeaderMatch is ip6tables' -m ipv6header (ip6t_ipv6header.c): the
// set of extension headers the packet has. Exactly Headers (plus the
// upper-layer protocol bit, IPv6HeaderProto, when the chain ends in
// one), or with Soft all of Headers; Invert negates (with Soft: none of
// them).
type IPv6HeaderMatch struct {
	Headers uint8
	Invert  bool
	Soft    bool
}

// Name returns "ipv6header".
func (*IPv6HeaderMatch) Name() string { return "ipv6header" }

// Match follows ipv6header_mt6's own walk of the chain.
func (m *IPv6HeaderMatch) Match(c *Context) bool {
	if c.Packet.Family != packet.IPv6 {
		return false
	}
	b := c.Packet.Bytes()
	next, ptr := b[6], 40
	rest := len(b) - 40
	var seen uint8
	for next == nextESP || isIPv6ExtHeader(next) {
		if next == nextNone {
			seen |= IPv6HeaderNone
			break
		}
		if rest < 2 {
			return false
		}
		if next == nextESP {
			seen |= IPv6HeaderESP
			break
		}
		if ptr+2 > len(b) {
			c.HotDrop = true
			return false
		}
		var hl int
		switch next {
		case nextFragment:
			hl = 8
			seen |= IPv6HeaderFragment
		case nextAuth:
			hl = (int(b[ptr+1]) + 2) * 4
			seen |= IPv6HeaderAuth
		default:
			hl = (int(b[ptr+1]) + 1) * 8
			switch next {
			case nextHop:
				seen |= IPv6HeaderHop
			case nextRouting:
				seen |= IPv6HeaderRouting
			case nextDest:
				seen |= IPv6HeaderDst
			}
		}
		next = b[ptr]
		rest -= hl
		ptr += hl
		if ptr > len(b) {
			break
		}
	}
	if next != nextNone && next != nextESP {
		seen |= IPv6HeaderProto
	}
	if m.Soft {
		inv := uint8(0)
		if m.Invert {
			inv = 0xff
		}
		return (seen^m.Headers^inv)&m.Headers == 0
	}
	return (seen == m.Headers) != m.Invert
}

// EUI64Match is ip6tables' -m eui64 (ip6t_eui64.c), in PREROUTING, INPUT
// and FORWARD: the source address's interface identifier is the modified
// EUI-64 of the source MAC address. It needs the Ethernet header
// (Context.LinkHeader); without one the packet does not match.
type EUI64Match struct{}

// Name returns "eui64".
func (*EUI64Match) Name() string { return "eui64" }

// Allowed restricts the match to the hooks xt_eui64 registers.
func (*EUI64Match) Allowed() (TableMask, HookMask) { return 0, Hooks(Prerouting, Input, Forward) }

// Match compares the identifier with the MAC address.
func (m *EUI64Match) Match(c *Context) bool {
	lh := c.LinkHeader
	p := c.Packet
	if len(lh) < 14 || p.Family != packet.IPv6 || binary.BigEndian.Uint16(lh[12:]) != 0x86dd {
		return false
	}
	mac := lh[6:12]
	src := p.Bytes()[8:24]
	eui := [8]byte{mac[0] ^ 0x02, mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4], mac[5]}
	return [8]byte(src[8:16]) == eui
}
