package filter

import (
	"encoding/binary"

	"github.com/nfgo/nfgo/packet"
)

// compiledHeader is a rule header prepared for the hot path: addresses
// and masks as integers compared against the packet's raw header bytes,
// and a bit set of the fields the rule tests, so a rule that tests only
// the protocol costs one comparison.
type compiledHeader struct {
	tests          uint8 // testProto | testSrc | …
	proto          uint8
	protoInv       bool
	srcInv, dstInv bool
	src, srcMask   [2]uint64 // IPv4 in the low 32 bits of [0]
	dst, dstMask   [2]uint64
	in, out        Iface
	fragment       Tristate
}

const (
	testProto uint8 = 1 << iota
	testSrc
	testDst
	testIn
	testOut
	testFrag
)

func compileHeader(h *Header) compiledHeader {
	ch := compiledHeader{proto: h.Proto, protoInv: h.ProtoInvert, srcInv: h.SrcInvert, dstInv: h.DstInvert,
		in: h.In, out: h.Out, fragment: h.Fragment}
	if h.Proto != 0 {
		ch.tests |= testProto
	}
	if !h.Src.IsZero() {
		ch.tests |= testSrc
		ch.src, ch.srcMask = netWords(h.Src)
	}
	if !h.Dst.IsZero() {
		ch.tests |= testDst
		ch.dst, ch.dstMask = netWords(h.Dst)
	}
	if !h.In.IsZero() {
		ch.tests |= testIn
	}
	if !h.Out.IsZero() {
		ch.tests |= testOut
	}
	if h.Fragment != Unset {
		ch.tests |= testFrag
	}
	return ch
}

func netWords(n Net) (addr, mask [2]uint64) {
	if n.Addr.Is4() {
		a, m := n.Addr.As4(), n.Mask.As4()
		return [2]uint64{uint64(binary.BigEndian.Uint32(a[:]))}, [2]uint64{uint64(binary.BigEndian.Uint32(m[:]))}
	}
	a, m := n.Addr.As16(), n.Mask.As16()
	return [2]uint64{binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(a[8:])},
		[2]uint64{binary.BigEndian.Uint64(m[:8]), binary.BigEndian.Uint64(m[8:])}
}

// pktAddrs are a packet's addresses as integers, loaded once per
// traversal so each rule's address test is a mask and a compare.
type pktAddrs struct {
	ok       bool // the packet has a complete IP header
	src, dst [2]uint64
}

func loadAddrs(p *packet.Packet) pktAddrs {
	b := p.Bytes()
	switch {
	case p.Family == packet.IPv4 && len(b) >= 20:
		return pktAddrs{ok: true, src: [2]uint64{uint64(binary.BigEndian.Uint32(b[12:]))}, dst: [2]uint64{uint64(binary.BigEndian.Uint32(b[16:]))}}
	case p.Family == packet.IPv6 && len(b) >= 40:
		return pktAddrs{ok: true,
			src: [2]uint64{binary.BigEndian.Uint64(b[8:]), binary.BigEndian.Uint64(b[16:])},
			dst: [2]uint64{binary.BigEndian.Uint64(b[24:]), binary.BigEndian.Uint64(b[32:])}}
	}
	return pktAddrs{}
}

// matches is Header.Matches over the preloaded addresses.
func (h *compiledHeader) matches(c *Context, a *pktAddrs) bool {
	if h.tests == 0 {
		return true
	}
	p := c.Packet
	if h.tests&testProto != 0 && (p.Proto == h.proto) == h.protoInv {
		return false
	}
	if h.tests&(testSrc|testDst) != 0 {
		if !a.ok {
			return false
		}
		if h.tests&testSrc != 0 && (a.src[0]&h.srcMask[0] == h.src[0] && a.src[1]&h.srcMask[1] == h.src[1]) == h.srcInv {
			return false
		}
		if h.tests&testDst != 0 && (a.dst[0]&h.dstMask[0] == h.dst[0] && a.dst[1]&h.dstMask[1] == h.dst[1]) == h.dstInv {
			return false
		}
	}
	if h.tests&testIn != 0 && h.in.matches(c.In) == h.in.Invert {
		return false
	}
	if h.tests&testOut != 0 && h.out.matches(c.Out) == h.out.Invert {
		return false
	}
	if h.tests&testFrag != 0 {
		later := p.Fragment && p.FragOffset != 0
		return later == (h.fragment == Yes)
	}
	return true
}
