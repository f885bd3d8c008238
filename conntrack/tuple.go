package conntrack

import (
	"fmt"
	"net/netip"

	"github.com/nfgo/nfgo/packet"
)

// Dir is a direction of a connection.
type Dir uint8

// The directions (IP_CT_DIR_ORIGINAL, IP_CT_DIR_REPLY).
const (
	Original Dir = 0
	Reply    Dir = 1
)

// String returns "original" or "reply".
func (d Dir) String() string {
	if d == Reply {
		return "reply"
	}
	return "original"
}

// Tuple identifies one direction of a connection, as struct
// nf_conntrack_tuple does: the addresses, the protocol, and the protocol's
// identifiers. It is comparable, packed and pointer-free, so it hashes
// cheaply and costs the garbage collector nothing.
//
// SrcPort and DstPort hold, by protocol:
//   - TCP, UDP, UDP-Lite, SCTP: the ports;
//   - ICMP and ICMPv6: SrcPort is the identifier and DstPort is
//     type<<8 | code, as the kernel keeps them;
//   - GRE: the keys (PPTP call IDs), source and destination;
//   - anything else: zero. DCCP is among them: the kernel nfgo follows
//     (6.16 and later) has no DCCP tracker, so DCCP is tracked by the
//     generic one, one connection per pair of addresses, listed with
//     sport=0 dport=0.
type Tuple struct {
	// Src and Dst are the addresses; IPv4 addresses fill the first
	// four bytes.
	Src, Dst         [16]byte
	SrcPort, DstPort uint16
	// Zone is the conntrack zone (CT --zone), part of the key.
	Zone uint16
	// Family is 4 or 6 (packet.IPv4, packet.IPv6).
	Family packet.Family
	// Proto is the layer-4 protocol number.
	Proto uint8
}

// SrcAddr returns the source address.
func (t *Tuple) SrcAddr() netip.Addr { return t.addr(&t.Src) }

// DstAddr returns the destination address.
func (t *Tuple) DstAddr() netip.Addr { return t.addr(&t.Dst) }

func (t *Tuple) addr(b *[16]byte) netip.Addr {
	if t.Family == packet.IPv4 {
		return netip.AddrFrom4([4]byte(b[:4]))
	}
	return netip.AddrFrom16(*b)
}

// Invert returns the tuple of the other direction, as
// nf_ct_invert_tuple does: addresses and ports swapped, and for ICMP the
// request type turned into its reply type. ok is false for an ICMP type
// that has no reply (it cannot start a connection).
func (t Tuple) Invert() (Tuple, bool) {
	r := t
	r.Src, r.Dst = t.Dst, t.Src
	switch t.Proto {
	case packet.ProtoICMP, packet.ProtoICMPv6:
		// The identifier stays; only the type changes.
		rt, ok := icmpInverse(t.Proto, uint8(t.DstPort>>8))
		if !ok {
			return Tuple{}, false
		}
		r.SrcPort, r.DstPort = t.SrcPort, uint16(rt)<<8|t.DstPort&0xff
	default:
		r.SrcPort, r.DstPort = t.DstPort, t.SrcPort
	}
	return r, true
}

// icmpInverse maps a request type to its reply type and back
// (invmap in nf_conntrack_proto_icmp.c and _icmpv6.c).
func icmpInverse(proto, typ uint8) (uint8, bool) {
	if proto == packet.ProtoICMP {
		switch typ {
		case 8:
			return 0, true
		case 0:
			return 8, true
		case 13:
			return 14, true
		case 14:
			return 13, true
		case 15:
			return 16, true
		case 16:
			return 15, true
		case 17:
			return 18, true
		case 18:
			return 17, true
		}
		return 0, false
	}
	switch typ {
	case 128:
		return 129, true
	case 129:
		return 128, true
	case 139:
		return 140, true
	case 140:
		return 139, true
	}
	return 0, false
}

// greProtoPPP is the protocol type of PPTP's GRE packets.
const greProtoPPP = 0x880b

// TupleOf returns the tuple of a packet in its own direction
// (nf_ct_get_tuple), in zone. ok is false when the packet has no complete
// transport header, or carries ICMP other than a query or reply, or is
// PPTP's GRE without PPP in it. A PPTP packet's source key is left 0:
// [Table.TupleOf] looks it up.
func TupleOf(p *packet.Packet, zone uint16) (Tuple, bool) {
	var t Tuple
	ok := tupleOf(&t, p, zone)
	return t, ok
}

// tupleOf is TupleOf writing the tuple in place, which the hot paths
// use: a tuple built field by field and at once copied whole, as
// returning it copies it, is read back in wide words from the narrow
// stores that just wrote it, which the CPU cannot forward, and stalls.
// t is left zero when ok is false.
func tupleOf(t *Tuple, p *packet.Packet, zone uint16) bool {
	*t = Tuple{}
	b := p.Bytes()
	switch p.Family {
	case packet.IPv4:
		if len(b) < 20 {
			return noTuple(t)
		}
		copy(t.Src[:4], b[12:16])
		copy(t.Dst[:4], b[16:20])
	case packet.IPv6:
		if len(b) < 40 {
			return noTuple(t)
		}
		copy(t.Src[:], b[8:24])
		copy(t.Dst[:], b[24:40])
	default:
		return noTuple(t)
	}
	switch p.Proto {
	case packet.ProtoTCP, packet.ProtoUDP, packet.ProtoUDPLite, packet.ProtoSCTP:
		if p.L4Off == 0 {
			return noTuple(t)
		}
		t.SrcPort, t.DstPort = p.SrcPort, p.DstPort
	case packet.ProtoICMP, packet.ProtoICMPv6:
		if p.L4Off == 0 {
			return noTuple(t)
		}
		t.SrcPort, t.DstPort = p.ICMPID, uint16(p.ICMPType)<<8|uint16(p.ICMPCode)
	case packet.ProtoGRE:
		// Only version 1 (PPTP) carries a key the kernel tracks, the
		// call ID of the destination; other GRE is tracked with zero
		// keys, like the generic protocols. A version 1 packet that
		// does not carry PPP has no tuple (gre_pkt_to_tuple).
		// One cut off before the call ID gets zero keys too.
		if p.L4Off != 0 && p.GREVersion == 1 && p.HasGREKey {
			if p.GREProto != greProtoPPP {
				return noTuple(t)
			}
			t.DstPort = uint16(p.GREKey)
		}
	}
	t.Zone, t.Family, t.Proto = zone, p.Family, p.Proto
	return true
}

// noTuple leaves t zero and reports that the packet has no tuple.
func noTuple(t *Tuple) bool {
	*t = Tuple{}
	return false
}

// String formats the tuple as conntrack -L prints one direction:
// "src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2".
func (t Tuple) String() string {
	s := fmt.Sprintf("src=%v dst=%v", t.SrcAddr(), t.DstAddr())
	switch t.Proto {
	case packet.ProtoTCP, packet.ProtoUDP, packet.ProtoUDPLite, packet.ProtoSCTP, packet.ProtoDCCP:
		s += fmt.Sprintf(" sport=%d dport=%d", t.SrcPort, t.DstPort)
	case packet.ProtoICMP, packet.ProtoICMPv6:
		s += fmt.Sprintf(" type=%d code=%d id=%d", t.DstPort>>8, t.DstPort&0xff, t.SrcPort)
	case packet.ProtoGRE:
		s += fmt.Sprintf(" srckey=0x%x dstkey=0x%x", t.SrcPort, t.DstPort)
	}
	return s
}
