package nat

import (
	"net/netip"

	"github.com/nfgo/nfgo/conntrack"
	"github.com/nfgo/nfgo/packet"
)

// Apply rewrites p, a packet of the connection whose tuples are orig and
// reply (reply as NAT set it up) and whose status is status, travelling
// in direction dir, for the manipulation m of the hook it is at: ManipDst at PREROUTING and OUTPUT,
// ManipSrc at POSTROUTING and INPUT. It is nf_nat_packet and
// nf_nat_manip_pkt: the packet is made to look like the inverse of the
// other direction's tuple, on the m side. So an original-direction packet
// leaves with the source the reply is addressed to and the destination
// the reply comes from, and a reply-direction packet leaves as the
// inverse of the original tuple.
//
// The address is rewritten, and the port (TCP, UDP, UDP-Lite, SCTP)
// or the ICMP query's id, with the checksums updated incrementally by
// packet's Set methods: a UDP checksum of 0 stays 0. A non-first fragment
// has only its address rewritten. Of GRE only PPTP's (version 1) call ID
// changes, at a destination manipulation: it is the destination's key,
// which a PPTP data connection's NAT sets (see package helpers). Only a hook whose manipulation the status bits
// (StatusSrcNAT, StatusDstNAT) say was made acts, so a packet changes at
// the same hook as in the kernel: an ICMP id changed by SNAT changes at
// POSTROUTING, not before the filter table sees it.
//
// Apply reports false, having changed nothing, when p did not decode as
// OK; the kernel drops a packet it cannot make writable. ICMP errors
// RELATED to a connection go to [TranslateICMPError] instead.
func Apply(p *packet.Packet, dir conntrack.Dir, orig, reply *conntrack.Tuple, status conntrack.Status, m Manip) bool {
	other := reply
	if dir == conntrack.Reply {
		other = orig
	}
	return ApplyOther(p, dir, other, status, m)
}

// ApplyOther is [Apply] given only the connection's tuple in the
// direction p does not travel (the reply tuple for an original-direction
// packet, the original for a reply), which is all Apply reads, as
// conntrack.Flow carries it.
func ApplyOther(p *packet.Packet, dir conntrack.Dir, other *conntrack.Tuple, status conntrack.Status, m Manip) bool {
	if !Acts(status, dir, m) {
		return true
	}
	if p.Invalid != packet.OK {
		return false
	}
	return manip(p, other, m, false)
}

// manip rewrites the m side of p to look like the inverse of tuple other
// (nf_nat_ipv4/ipv6_manip_pkt with target = inverse of other), or, with
// inner set, like other itself: the embedded packet of an ICMP error
// travels the other way.
func manip(p *packet.Packet, other *conntrack.Tuple, m Manip, inner bool) bool {
	var addr *[16]byte
	var port uint16
	switch {
	case inner && m == ManipSrc:
		addr, port = &other.Src, other.SrcPort
	case inner:
		addr, port = &other.Dst, other.DstPort
	case m == ManipSrc:
		addr, port = &other.Dst, other.DstPort
	default:
		addr, port = &other.Src, other.SrcPort
	}
	a := tupleAddr(p.Family, addr)
	if p.L4Off != 0 {
		switch {
		case hasPorts(p.Proto):
			if m == ManipSrc {
				if p.SrcPort != port && !p.SetSrcPort(port) {
					return false
				}
			} else if p.DstPort != port && !p.SetDstPort(port) {
				return false
			}
		case isICMP(p.Proto):
			// The id is the same in both directions: SrcPort of
			// either tuple.
			if id := other.SrcPort; p.ICMPID != id && icmpIDRewritten(p.Proto, p.ICMPType) {
				p.SetICMPID(id)
			}
		case p.Proto == packet.ProtoGRE && p.GREVersion == 1 && m == ManipDst:
			// PPTP (gre_manip_pkt): the call ID is the destination's
			// key; the source key is not in the packet, so only a
			// destination manipulation writes.
			if !p.HasGREKey {
				return false
			}
			if uint16(p.GREKey) != port && !p.SetGRECallID(port) {
				return false
			}
		}
	}
	if m == ManipSrc {
		if p.Src() != a {
			return p.SetSrc(a)
		}
	} else if p.Dst() != a {
		return p.SetDst(a)
	}
	return true
}

// tupleAddr returns the address a of family f, laid out as in
// conntrack.Tuple, without allocating.
func tupleAddr(f packet.Family, a *[16]byte) netip.Addr {
	if f == packet.IPv4 {
		return netip.AddrFrom4([4]byte(a[:4]))
	}
	return netip.AddrFrom16(*a)
}

// Status returns the connection status bit that records a binding of m
// that changed the tuple: IPS_SRC_NAT or IPS_DST_NAT. The caller of
// [Selector.Select] sets it when the result differs from curr, as
// nf_nat_setup_info does, and sets the matching NAT_DONE bit either way.
func (m Manip) Status() conntrack.Status {
	if m == ManipDst {
		return conntrack.StatusDstNAT
	}
	return conntrack.StatusSrcNAT
}

// Acts reports whether a hook of manipulation m rewrites packets of
// direction dir of a connection with status: the reply direction undoes
// the other manipulation (nf_nat_packet's statusbit ^= IPS_NAT_MASK).
func Acts(status conntrack.Status, dir conntrack.Dir, m Manip) bool {
	if dir == conntrack.Reply {
		m = 1 - m
	}
	return status&m.Status() != 0
}

// TranslateICMPError rewrites p, an ICMP or ICMPv6 error RELATED to the
// connection with tuples orig and reply and status status, travelling in
// direction dir,
// at a hook of manipulation m, as nf_nat_icmp_reply_translation and
// nf_nat_icmpv6_reply_translation do: the embedded packet, which went the
// other way, is un-NATed (rewritten on the other side to look like the
// other direction's tuple), the ICMP checksum is recomputed in full, and
// then the outer header is NATed like any packet of the connection, so
// that the error reaches the real host and names the packet it sent.
//
// It reports false, and the caller drops p, when the kernel does: the
// outer ICMP checksum is wrong (nf_ip_checksum), p is a redirect about a
// NATed connection or one whose bindings are not both set up (it would
// teach hosts to bypass the NAT), or the
// embedded packet cannot be decoded. A truncated embedded packet is
// rewritten as far as it goes: its ports, not a TCP checksum it does not
// hold.
//
// The full recomputation uses packet.ComputeChecksums, which also
// recomputes an IPv4 header checksum; ip_rcv has dropped a packet whose
// header checksum was wrong, so this changes nothing. The kernel skips
// the recomputation for CHECKSUM_PARTIAL packets; nfgo's packets are
// always complete.
func TranslateICMPError(p *packet.Packet, dir conntrack.Dir, orig, reply *conntrack.Tuple, status conntrack.Status, m Manip) bool {
	if p.Invalid != packet.OK || !p.IsICMPError() || !p.L4ChecksumOK() {
		return false
	}
	if isRedirect(p) {
		const done = conntrack.StatusSrcNATDone | conntrack.StatusDstNATDone
		if status&done != done || status&(conntrack.StatusSrcNAT|conntrack.StatusDstNAT) != 0 {
			return false
		}
	}
	if !Acts(status, dir, m) {
		return true
	}
	other := reply
	if dir == conntrack.Reply {
		other = orig
	}
	var in packet.Packet
	if !p.Embedded(&in) {
		return false
	}
	if !manip(&in, other, 1-m, true) {
		return false
	}
	p.ComputeChecksums()
	return manip(p, other, m, false)
}

// icmpIDRewritten reports whether the kernel's NAT rewrites the id of
// ICMP type typ: icmp_manip_pkt the queries and their replies (since
// Linux 5.5; before, it also wrote into the unused word of errors), and
// icmpv6_manip_pkt echo request and reply only.
func icmpIDRewritten(proto, typ uint8) bool {
	if proto == packet.ProtoICMPv6 {
		return typ == packet.ICMPv6EchoRequest || typ == packet.ICMPv6EchoReply
	}
	switch typ {
	case packet.ICMPEcho, packet.ICMPEchoReply, packet.ICMPTimestamp, packet.ICMPTimestampReply,
		packet.ICMPInfoRequest, packet.ICMPInfoReply, packet.ICMPAddress, packet.ICMPAddressReply:
		return true
	}
	return false
}

func isRedirect(p *packet.Packet) bool {
	if p.Proto == packet.ProtoICMP {
		return p.ICMPType == packet.ICMPRedirect
	}
	return p.ICMPType == 137 // NDISC_REDIRECT
}
