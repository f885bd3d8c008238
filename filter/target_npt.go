package filter

import (
	"encoding/binary"
	"errors"
	"net/netip"

	"github.com/nfgo/nfgo/packet"
)

// NPTTarget is ip6tables' -j SNPT and -j DNPT (ip6t_NPT.c): IPv6
// network prefix translation (RFC 6296). The source (SNPT) or
// destination (DNPT) address's SrcPrefix is replaced by DstPrefix, and
// one 16-bit word of the interface identifier is adjusted so that the
// address sums to the same checksum: no checksum in the packet changes.
// The address inside an ICMPv6 error is translated back alike. An
// address that cannot be adjusted (all its adjustable words 0xffff) is
// dropped; the kernel also answers it with a parameter problem, which
// nfgo does not send.
type NPTTarget struct {
	Dest                 bool // DNPT
	SrcPrefix, DstPrefix netip.Prefix

	// adj is the prefixes' checksum difference, computed by Bind (as
	// checkentry computes it) and bound says it is.
	adj   uint16
	bound bool
}

// Bind computes the adjustment once, for the packets.
func (t *NPTTarget) Bind(*Binding) (any, error) {
	b := *t
	b.adj, b.bound = t.adjustment(), true
	return &b, nil
}

// Name returns "SNPT" or "DNPT".
func (t *NPTTarget) Name() string {
	if t.Dest {
		return "DNPT"
	}
	return "SNPT"
}

// Allowed is the mangle table; SNPT at INPUT and POSTROUTING, DNPT at
// PREROUTING and OUTPUT.
func (t *NPTTarget) Allowed() (TableMask, HookMask) {
	if t.Dest {
		return Tables(Mangle), Hooks(Prerouting, Output)
	}
	return Tables(Mangle), Hooks(Input, Postrouting)
}

// ErrNPTPrefix is CheckRule's error for a prefix longer than 64 bits or
// with host bits set.
var ErrNPTPrefix = errors.New("NPT: prefixes must be at most 64 bits long, without host bits")

// CheckRule is ip6t_npt_checkentry.
func (t *NPTTarget) CheckRule(_ *Rule, _ Site) error {
	for _, p := range []netip.Prefix{t.SrcPrefix, t.DstPrefix} {
		if !p.IsValid() || p.Bits() > 64 || p.Masked() != p {
			return ErrNPTPrefix
		}
	}
	return nil
}

// csumAdd and csumFold are the kernel's csum_add and csum_fold.
func csumAdd(a, b uint32) uint32 {
	r := a + b
	if r < a {
		r++
	}
	return r
}

func csumFold(s uint32) uint16 {
	s = s&0xffff + s>>16
	s = s&0xffff + s>>16
	return ^uint16(s)
}

// adjustment is checkentry's npt->adjustment, over the words as the
// kernel reads them from memory on a little-endian machine.
func (t *NPTTarget) adjustment() uint16 {
	var src, dst uint32
	s, d := t.SrcPrefix.Addr().As16(), t.DstPrefix.Addr().As16()
	for i := 0; i < 16; i += 2 {
		src = csumAdd(src, uint32(binary.LittleEndian.Uint16(s[i:])))
		dst = csumAdd(dst, uint32(binary.LittleEndian.Uint16(d[i:])))
	}
	return ^csumFold(csumAdd(src, ^dst))
}

// mapPrefix is ip6t_npt_map_pfx on the 16 bytes of an address.
func (t *NPTTarget) mapPrefix(a []byte) bool {
	plen := max(t.SrcPrefix.Bits(), t.DstPrefix.Bits())
	d := t.DstPrefix.Addr().As16()
	for bit := 0; bit < plen; bit++ {
		m := byte(0x80) >> (bit % 8)
		a[bit/8] = a[bit/8]&^m | d[bit/8]&m
	}
	idx := 3
	if plen > 48 {
		for idx = 4; idx < 8; idx++ {
			if binary.LittleEndian.Uint16(a[2*idx:]) != 0xffff {
				break
			}
		}
		if idx == 8 {
			return false
		}
	}
	adj := t.adj
	if !t.bound {
		adj = t.adjustment()
	}
	w := binary.LittleEndian.Uint16(a[2*idx:])
	sum := ^csumFold(csumAdd(uint32(w), uint32(adj)))
	if sum == 0xffff {
		sum = 0
	}
	binary.LittleEndian.PutUint16(a[2*idx:], sum)
	return true
}

// Do translates the address and continues.
func (t *NPTTarget) Do(c *Context) Verdict {
	p := c.Packet
	if p.Family != packet.IPv6 || p.Length < 40 {
		return Verdict{Action: Drop}
	}
	b := p.Bytes()
	off, inner := 8, 24 // SNPT: the source; the bounced packet's destination
	if t.Dest {
		off, inner = 24, 8
	}
	if !t.mapPrefix(b[off : off+16]) {
		return Verdict{Action: Drop}
	}
	p.Modified = true
	if p.IsICMPError() && p.PayloadOff+40 <= p.Length && b[p.PayloadOff]>>4 == 6 {
		if !t.mapPrefix(b[p.PayloadOff+inner : p.PayloadOff+inner+16]) {
			return Verdict{Action: Drop}
		}
	}
	return Verdict{Action: Continue}
}

// SNPTTarget is -j SNPT: NPTTarget on the source address (Dest false).
type SNPTTarget struct{ NPTTarget }

// DNPTTarget is -j DNPT: NPTTarget on the destination address (Dest
// true).
type DNPTTarget struct{ NPTTarget }
