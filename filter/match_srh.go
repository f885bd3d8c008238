package filter

import (
	"encoding/binary"
	"net/netip"

	"github.com/nfgo/nfgo/packet"
)

// The srh match's flags (IP6T_SRH_*), which are also its inversion
// bits.
const (
	SRHNextHdr uint16 = 1 << iota
	SRHLenEq
	SRHLenGt
	SRHLenLt
	SRHSegsEq
	SRHSegsGt
	SRHSegsLt
	SRHLastEq
	SRHLastGt
	SRHLastLt
	SRHTag
	SRHPSID
	SRHNSID
	SRHLSID
)

// SRHMatch is ip6tables' -m srh (ip6t_srh.c, revision 1): the first
// Routing header, which must be a Segment Routing header (type 4) with
// segments left not above last entry, and the tests Flags selects, each
// inverted by its bit in Invert. As in the kernel, the -eq, -gt and -lt
// tests of one field share one value, and the tag is compared as the
// kernel loads it on a little-endian machine (the wire's bytes swapped).
// The match never drops a packet.
type SRHMatch struct {
	Flags, Invert       uint16
	NextHdr, HdrLen     uint8
	SegsLeft, LastEntry uint8
	Tag                 uint16
	PSID, NSID, LSID    netip.Prefix
}

// Name returns "srh".
func (*SRHMatch) Name() string { return "srh" }

// test is INVF: does the flag's test fail?
func (m *SRHMatch) fails(flag uint16, ok bool) bool {
	return m.Flags&flag != 0 && ok == (m.Invert&flag != 0)
}

// Match follows srh1_mt6.
func (m *SRHMatch) Match(c *Context) bool {
	if c.Packet.Family != packet.IPv6 {
		return false
	}
	b := c.Packet.Bytes()
	off, r := findIPv6Header(b, nextRouting)
	if r != headerFound || off+8 > len(b) {
		return false
	}
	h := b[off:]
	if len(b)-off < (int(h[1])+1)*8 || h[2] != 4 || h[3] > h[4] {
		return false
	}
	nh, hl, segs, last := h[0], h[1], h[3], h[4]
	tag := binary.LittleEndian.Uint16(h[6:])
	cmp := func(eq, gt, lt uint16, v, ref uint8) bool {
		return m.fails(eq, v == ref) || m.fails(gt, v > ref) || m.fails(lt, v < ref)
	}
	if m.fails(SRHNextHdr, nh == m.NextHdr) || cmp(SRHLenEq, SRHLenGt, SRHLenLt, hl, m.HdrLen) ||
		cmp(SRHSegsEq, SRHSegsGt, SRHSegsLt, segs, m.SegsLeft) || cmp(SRHLastEq, SRHLastGt, SRHLastLt, last, m.LastEntry) ||
		m.fails(SRHTag, tag == m.Tag) {
		return false
	}
	sid := func(i int) (netip.Addr, bool) {
		at := off + 8 + 16*i
		if at+16 > len(b) {
			return netip.Addr{}, false
		}
		return netip.AddrFrom16([16]byte(b[at : at+16])), true
	}
	for _, t := range []struct {
		flag uint16
		idx  int
		none bool
		p    netip.Prefix
	}{
		{SRHPSID, int(segs) + 1, segs == last, m.PSID},
		{SRHNSID, int(segs) - 1, segs == 0, m.NSID},
		{SRHLSID, 0, false, m.LSID},
	} {
		if m.Flags&t.flag == 0 {
			continue
		}
		if t.none {
			return false
		}
		a, ok := sid(t.idx)
		if !ok {
			return false
		}
		if m.fails(t.flag, t.p.Contains(a)) {
			return false
		}
	}
	return true
}
