package conntrack

import (
	"time"

	"github.com/nfgo/nfgo/packet"
)

// protoResult is a tracker's answer for one packet of a connection.
type protoResult struct {
	invalid bool
	reason  string
	timeout time.Duration
	assured bool
	repeat  bool
	kill    bool
	// shrink, with invalid, lowers a long remaining timeout to timeout
	// (nf_tcp_handle_invalid).
	shrink bool
}

// protoError is the protocol's error callback (l4proto->error): a reason
// the packet is INVALID before any lookup, or "".
func (t *Table) protoError(p *packet.Packet, checksum bool) string {
	switch p.Proto {
	case packet.ProtoTCP:
		return tcpError(p, checksum)
	case packet.ProtoUDP, packet.ProtoUDPLite:
		// udp_error: a header that is short, a length that does not fit,
		// or (where checked) a bad checksum.
		if p.L4Off == 0 {
			if p.Invalid == packet.InvalidUDPTruncated {
				return "short packet"
			}
			return "truncated/malformed packet"
		}
		if checksum && !p.Fragment && !p.L4ChecksumOK() {
			return "bad checksum"
		}
	case packet.ProtoSCTP:
		// sctp_error: the common header, and its CRC32c where checked.
		if p.L4Off == 0 {
			return "short packet"
		}
		if checksum && !p.L4ChecksumOK() {
			return "bad CRC"
		}
	case packet.ProtoICMP, packet.ProtoICMPv6:
		if p.L4Off == 0 {
			return "short packet"
		}
		if checksum && !p.L4ChecksumOK() {
			if p.Proto == packet.ProtoICMP {
				return "bad hw icmp checksum"
			}
			return "ICMPv6 checksum failed"
		}
		if p.Proto == packet.ProtoICMP && p.ICMPType > 18 {
			return "invalid icmp type"
		}
	}
	return ""
}

// protoStart is l4proto->new for the protocols other than TCP: whether
// the packet may create a connection.
func protoStart(p *packet.Packet) (reason string) {
	switch p.Proto {
	case packet.ProtoICMP, packet.ProtoICMPv6:
		// icmp_new/icmpv6_new: only queries start a connection.
		if _, ok := icmpInverse(p.Proto, p.ICMPType); !ok || isICMPReply(p.Proto, p.ICMPType) {
			return "unsupported icmp type for a new connection"
		}
	}
	return ""
}

func isICMPReply(proto, typ uint8) bool {
	if proto == packet.ProtoICMP {
		return typ == 0 || typ == 14 || typ == 16 || typ == 18
	}
	return typ == 129 || typ == 140
}

// protoUpdate is l4proto->packet for the protocols other than TCP.
func (t *Table) protoUpdate(e *connState, born uint32, p *packet.Packet, now int64) protoResult {
	to := &t.cfg.Timeouts
	switch p.Proto {
	case packet.ProtoUDP, packet.ProtoUDPLite:
		// nf_conntrack_udp_packet: once a reply has been seen (SEEN_REPLY
		// is set after the tracker ran, so from the packet after the
		// first reply on) and the entry is more than 2 s old, it is a
		// stream: the longer timeout, and ASSURED.
		if e.status&StatusSeenReply != 0 && age(born, now) > 2*time.Second {
			return protoResult{timeout: to.UDPStream, assured: true}
		}
		return protoResult{timeout: to.UDP}
	case packet.ProtoICMP:
		return protoResult{timeout: to.ICMP}
	case packet.ProtoICMPv6:
		return protoResult{timeout: to.ICMPv6}
	case packet.ProtoGRE:
		// gre_packet: a stream, and ASSURED, once a reply has been seen.
		if e.status&StatusSeenReply != 0 {
			return protoResult{timeout: to.GREStream, assured: true}
		}
		return protoResult{timeout: to.GRE}
	}
	return protoResult{timeout: to.Generic}
}
