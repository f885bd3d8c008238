package filter

import (
	"encoding/binary"
	"errors"
	"net/netip"

	"github.com/nfgo/nfgo/internal/jhash"
	"github.com/nfgo/nfgo/packet"
)

// HMarkTarget is -j HMARK (xt_HMARK.c): the packet mark becomes a hash
// of the packet's addresses, ports (or SPI) and protocol, scaled to Mod
// and shifted by Offset, then the packet continues. The source and
// destination are put in a canonical order (the smaller first, for the
// addresses and for the ports) so that both directions of a flow get
// the same mark:
//
//	(jhash_3words(min(src, dst), max(src, dst), ports, Rnd) ^ (proto & ProtoMask)) * Mod >> 32 + Offset
//
// where src and dst are the addresses masked to SrcPrefix and DstPrefix
// (an IPv6 address folded to 32 bits by XORing its four masked words)
// and ports is max(sport, dport)<<16 | min(sport, dport) of the ports
// masked with PortMask and ORed with PortSet. Without HMarkCT the
// tuple is the packet's (an ICMP error's is the embedded packet's; a
// fragment hashes no ports); with it, the tuple is the connection's:
// the original tuple's source and the reply tuple's source, and a
// packet without a connection keeps its mark.
//
// The fields are the kernel's xt_hmark_info. A field whose option was
// not given is zero, which leaves its part out of the hash: iptables
// sets no defaults.
type HMarkTarget struct {
	// Flags are the options given, as XT_HMARK_* bits: they decide what
	// iptables-save prints and what CheckRule refuses.
	Flags HMarkFlags
	// SrcPrefix and DstPrefix are the prefix lengths of the address
	// masks (src_mask, dst_mask): 0 leaves the address out, the
	// family's full length hashes all of it.
	SrcPrefix, DstPrefix uint8
	// PortMask and PortSet are port_mask and port_set as the 32-bit word
	// they are in network order: the source port's 16 bits above the
	// destination port's, or, for ESP and AH, the SPI.
	PortMask, PortSet uint32
	// ProtoMask is ANDed with the protocol number before it is XORed
	// into the hash.
	ProtoMask uint16
	// Rnd is the hash's seed (hashrnd).
	Rnd uint32
	// Mod is the number of marks (hmodulus); it may not be 0.
	Mod uint32
	// Offset is added to the scaled hash (hoffset).
	Offset uint32
}

// HMarkFlags are xt_hmark_info's flags: which options a rule gave.
type HMarkFlags uint32

// The HMARK flags, with the kernel's bit numbers (XT_HMARK_*).
const (
	HMarkSrcMask HMarkFlags = 1 << iota
	HMarkDstMask
	HMarkSPI
	HMarkSPIMask
	HMarkSport
	HMarkDport
	HMarkSportMask
	HMarkDportMask
	HMarkProtoMask
	HMarkRnd
	HMarkModulus
	HMarkOffset
	// HMarkCT hashes the connection's tuples instead of the packet's
	// headers (--hmark-tuple ct).
	HMarkCT
	// HMarkMethodL3 hashes the addresses only. iptables has no option
	// for it; the kernel honours it.
	HMarkMethodL3
	// HMarkMethodL34 is the kernel's XT_HMARK_METHOD_L3_4, the default
	// method, which no code tests.
	HMarkMethodL34
)

// Name returns "HMARK".
func (*HMarkTarget) Name() string { return "HMARK" }

// The errors CheckRule returns, as hmark_tg_check refuses the rule
// (EINVAL).
var (
	ErrHMarkMod      = errors.New("HMARK: the modulus must not be 0")
	ErrHMarkL3Proto  = errors.New("xt_HMARK: proto mask must be zero with L3 mode")
	ErrHMarkSPIMask  = errors.New("xt_HMARK: spi-mask and port-mask can't be combined")
	ErrHMarkSPIPorts = errors.New("xt_HMARK: spi-set and port-set can't be combined")
)

// CheckRule refuses what hmark_tg_check refuses: a zero modulus, a
// protocol mask in L3 mode, and an SPI mask or value combined with a
// port mask or value. HMARK has no table or hook restriction.
func (t *HMarkTarget) CheckRule(*Rule, Site) error {
	switch {
	case t.Mod == 0:
		return ErrHMarkMod
	case t.ProtoMask != 0 && t.Flags&HMarkMethodL3 != 0:
		return ErrHMarkL3Proto
	case t.Flags&HMarkSPIMask != 0 && t.Flags&(HMarkSportMask|HMarkDportMask) != 0:
		return ErrHMarkSPIMask
	case t.Flags&HMarkSPI != 0 && t.Flags&(HMarkSport|HMarkDport) != 0:
		return ErrHMarkSPIPorts
	}
	return nil
}

// NeedsConntrack reports whether the target reads the connection
// (--hmark-tuple ct).
func (t *HMarkTarget) NeedsConntrack() bool { return t.Flags&HMarkCT != 0 }

// hmarkTuple is the kernel's struct hmark_tuple: the masked addresses
// (host order), the ordered ports and the protocol.
type hmarkTuple struct {
	src, dst, ports uint32
	proto           uint8
}

// Do sets c.Mark to the hash and continues. A packet whose tuple cannot
// be read (no connection in ct mode, an ICMP error whose embedded header
// is cut short) keeps its mark.
func (t *HMarkTarget) Do(c *Context) Verdict {
	var tu hmarkTuple
	var ok bool
	switch {
	case t.Flags&HMarkCT != 0:
		ok = t.ctTuple(&c.CT, &tu)
	case c.Packet.Family == packet.IPv4:
		ok = t.tuple4(c.Packet.Bytes(), &tu)
	case c.Packet.Family == packet.IPv6:
		ok = t.tuple6(c.Packet.Bytes(), &tu)
	}
	if ok {
		c.Mark = t.Hash(tu.src, tu.dst, tu.ports, tu.proto)
	}
	return Verdict{Action: Continue}
}

// Hash is hmark_hash: the mark for the masked addresses src and dst
// (host order, an IPv6 address already folded), the ordered ports word
// and the protocol.
func (t *HMarkTarget) Hash(src, dst, ports uint32, proto uint8) uint32 {
	if dst < src {
		src, dst = dst, src
	}
	h := jhash.Hash3(src, dst, ports, t.Rnd)
	h ^= uint32(uint16(proto) & t.ProtoMask)
	// reciprocal_scale(h, Mod)
	return uint32(uint64(h)*uint64(t.Mod)>>32) + t.Offset
}

// Ports is hmark_swap_ports: the ports word (source port above
// destination port, as read from the packet) masked and set, then
// ordered with the larger port above.
func (t *HMarkTarget) Ports(v uint32) uint32 {
	hp := v&t.PortMask | t.PortSet
	src, dst := hp>>16, hp&0xffff
	if dst > src {
		return dst<<16 | src
	}
	return src<<16 | dst
}

// hmarkMask is the host-order mask of a prefix of an IPv4 address, or
// of the 32-bit word i of an IPv6 address.
func hmarkMask(prefix uint8, word int) uint32 {
	bits := int(prefix) - 32*word
	switch {
	case bits <= 0:
		return 0
	case bits >= 32:
		return ^uint32(0)
	}
	return ^uint32(0) << (32 - bits)
}

// hmarkAddr4 is an IPv4 address (4 bytes) masked, in host order.
func hmarkAddr4(b []byte, prefix uint8) uint32 {
	return binary.BigEndian.Uint32(b) & hmarkMask(prefix, 0)
}

// hmarkAddr6 is hmark_addr6_mask: the XOR of the four masked words of an
// IPv6 address (16 bytes), in host order.
func hmarkAddr6(b []byte, prefix uint8) uint32 {
	var v uint32
	for i := 0; i < 4; i++ {
		v ^= binary.BigEndian.Uint32(b[4*i:]) & hmarkMask(prefix, i)
	}
	return v
}

// hmarkAddr is hmark_addr_mask for an address of either family.
func hmarkAddr(a netip.Addr, prefix uint8) uint32 {
	switch {
	case a.Is4():
		b := a.As4()
		return hmarkAddr4(b[:], prefix)
	case a.Is6():
		b := a.As16()
		return hmarkAddr6(b[:], prefix)
	}
	return 0
}

// ctTuple is hmark_ct_set_htuple.
func (t *HMarkTarget) ctTuple(ct *CTInfo, tu *hmarkTuple) bool {
	if !ct.Tracked || ct.State&(StateInvalid|StateUntracked) != 0 {
		return false
	}
	ct.Tuples()
	tu.src = hmarkAddr(ct.OrigSrc, t.SrcPrefix)
	tu.dst = hmarkAddr(ct.ReplSrc, t.DstPrefix)
	if t.Flags&HMarkMethodL3 != 0 {
		return true
	}
	tu.proto = ct.Proto
	if tu.proto != packet.ProtoICMP {
		tu.ports = t.Ports(uint32(ct.OrigSrcPort)<<16 | uint32(ct.ReplSrcPort))
	}
	return true
}

// setPorts is hmark_set_tuple_ports: the ports, or the SPI, of protocol
// proto whose header is at off in b. A protocol without ports, or a
// header cut short, leaves the ports 0.
func (t *HMarkTarget) setPorts(b []byte, off int, tu *hmarkTuple) {
	switch tu.proto { // proto_ports_offset
	case packet.ProtoTCP, packet.ProtoUDP, packet.ProtoDCCP, packet.ProtoESP, packet.ProtoSCTP, packet.ProtoUDPLite:
	case packet.ProtoAH:
		off += 4
	default:
		return
	}
	if off < 0 || off+4 > len(b) {
		return
	}
	tu.ports = t.Ports(binary.BigEndian.Uint32(b[off:]))
}

// tuple4 is hmark_pkt_set_htuple_ipv4 on the packet's bytes b.
func (t *HMarkTarget) tuple4(b []byte, tu *hmarkTuple) bool {
	if len(b) < 20 {
		return false
	}
	ip, nh := b, 0
	if b[9] == packet.ProtoICMP {
		// get_inner_hdr: an ICMP error hashes the packet it carries.
		ihl := int(b[0]&0x0f) * 4
		if ihl+8 <= len(b) {
			switch b[ihl] {
			case 3, 4, 5, 11, 12: // unreachable, source quench, redirect, time exceeded, parameter problem
				nh = ihl + 8
				if nh+20 > len(b) {
					return false
				}
				ip = b[nh:]
			}
		}
	}
	tu.src = hmarkAddr4(ip[12:], t.SrcPrefix)
	tu.dst = hmarkAddr4(ip[16:], t.DstPrefix)
	if t.Flags&HMarkMethodL3 != 0 {
		return true
	}
	tu.proto = ip[9]
	if tu.proto == packet.ProtoICMP {
		return true
	}
	if binary.BigEndian.Uint16(ip[6:])&0x3fff != 0 { // IP_MF | IP_OFFSET
		return true
	}
	t.setPorts(b, nh+int(ip[0]&0x0f)*4, tu)
	return true
}

// hmarkFindHdr6 is ipv6_find_hdr(skb, &off, -1, &fragoff, &flags) with
// flags IP6_FH_F_AUTH, on the packet's bytes b, for the IPv6 header at
// off: it walks the extension headers to the transport header (or to an
// AH header) and returns its protocol and offset, and whether a Fragment
// header was met. ok is false where the kernel returns an error.
func hmarkFindHdr6(b []byte, off int) (proto uint8, at int, frag, ok bool) {
	if off+40 > len(b) || b[off]>>4 != 6 {
		return 0, off, false, false
	}
	ext := func(n uint8) bool { return n == 0 || n == 43 || n == 44 || n == 51 || n == 59 || n == 60 }
	start, next := off+40, b[off+6]
	for {
		if !ext(next) || next == 59 {
			return next, start, frag, true
		}
		if start+2 > len(b) {
			return 0, off, frag, false
		}
		hpNext, hpLen := b[start], int(b[start+1])
		var n int
		switch next {
		case 44: // fragment
			frag = true
			if start+4 > len(b) {
				return 0, off, frag, false
			}
			if binary.BigEndian.Uint16(b[start+2:])&^7 != 0 {
				if !ext(hpNext) || hpNext == 59 {
					// A later fragment: the offset is left as it was.
					return hpNext, off, frag, true
				}
				return 0, off, frag, false
			}
			n = 8
		case 51: // AH: IP6_FH_F_AUTH stops the walk at it
			return next, start, frag, true
		case 43: // routing
			if start+4 > len(b) {
				return 0, off, frag, false
			}
			n = (hpLen + 1) << 3
		default:
			n = (hpLen + 1) << 3
		}
		next, start = hpNext, start+n
	}
}

// tuple6 is hmark_pkt_set_htuple_ipv6 on the packet's bytes b.
func (t *HMarkTarget) tuple6(b []byte, tu *hmarkTuple) bool {
	if len(b) < 40 {
		return false
	}
	ip := b
	proto, at, frag, ok := hmarkFindHdr6(b, 0)
	if !ok {
		// As the kernel does, a header chain it cannot walk hashes the
		// zero tuple.
		return true
	}
	if !frag && proto == packet.ProtoICMPv6 && at+8 <= len(b) && b[at] != 0 && b[at] < 128 {
		// get_inner6_hdr: an ICMPv6 error hashes the packet it carries.
		at += 8
		if at+40 > len(b) {
			return false
		}
		ip = b[at:]
		if proto, at, frag, ok = hmarkFindHdr6(b, at); !ok {
			return false
		}
	}
	tu.src = hmarkAddr6(ip[8:], t.SrcPrefix)
	tu.dst = hmarkAddr6(ip[24:], t.DstPrefix)
	if t.Flags&HMarkMethodL3 != 0 {
		return true
	}
	tu.proto = proto
	if proto == packet.ProtoICMPv6 || frag {
		return true
	}
	t.setPorts(b, at, tu)
	return true
}
